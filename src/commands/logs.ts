import { composeArgs, dockerAttached } from '../docker.js';
import { services } from '../facts.js';
import { choiceValue, countValue, parseFlags, parseOrExit, UsageError } from '../usage.js';

export const summary = 'show the logs of one service (-f to follow)';

const names = services.map((s) => s.name);

export const command = {
  verb: 'logs',
  help: `Usage: lgtmp logs <service> [options]

Shows the newest log lines of one service's container.

Services: ${names.join(', ')}

Options:
  -f, --follow      keep printing new lines until Ctrl-C
  --tail <lines>    how many of the newest lines (default 200)
  -h, --help
Exit status: that of docker compose logs, 2 on bad usage.`,
  options: { follow: { type: 'boolean', short: 'f' }, tail: { type: 'string' } },
  positionals: true,
} as const;

export function parseLogsArgs(argv: string[]): { service: string; follow: boolean; tail: number } {
  const { values, positionals } = parseFlags(command, argv);
  if (positionals.length !== 1) {
    throw new UsageError(`${positionals.length === 0 ? 'which service?' : `one service at a time, not "${positionals.join(' ')}"`} (services: ${names.join(', ')})`);
  }
  return {
    service: choiceValue('<service>', positionals[0]!, names, 'service'),
    follow: values.follow ?? false,
    tail: values.tail === undefined ? 200 : countValue('--tail', values.tail),
  };
}

export async function run(argv: string[]): Promise<number> {
  const args = parseOrExit(command, argv, () => parseLogsArgs(argv));
  if (typeof args === 'number') return args;
  return dockerAttached(composeArgs(['logs', '--tail', String(args.tail), ...(args.follow ? ['--follow'] : []), args.service]));
}
