#!/usr/bin/env node
import { UserError } from './errors.js';

interface Verb {
  summary: string;
  run(argv: string[]): Promise<number>;
}

/** One module per verb, loaded only when used. */
const verbs: Record<string, () => Promise<Verb>> = {
  up: () => import('./commands/up.js'),
  down: () => import('./commands/down.js'),
  status: () => import('./commands/status.js'),
  logs: () => import('./commands/logs.js'),
  open: () => import('./commands/open.js'),
  verify: () => import('./commands/verify.js'),
  tour: () => import('./commands/tour.js'),
};

async function usage(): Promise<string> {
  const lines = ['usage: lgtmp <command> [options]', '', 'commands:'];
  for (const [name, load] of Object.entries(verbs)) lines.push(`  ${name.padEnd(8)} ${(await load()).summary}`);
  return lines.join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    console.log(await usage());
    return name ? 0 : 2;
  }
  const load = verbs[name];
  if (!load) {
    console.error(`lgtmp: unknown command "${name}" (commands: ${Object.keys(verbs).join(', ')}); see lgtmp --help`);
    return 2;
  }
  return (await load()).run(rest);
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (err: unknown) => {
    if (err instanceof UserError) {
      console.error(`✘ ${err.message}${err.hint ? `\n  → ${err.hint}` : ''}`);
      process.exitCode = err.exitCode;
    } else {
      console.error(err);
      process.exitCode = 1;
    }
  },
);
