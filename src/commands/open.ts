import { spawn } from 'node:child_process';
import { grafanaUrl, readEnv } from '../project.js';
import { parseFlags, parseOrExit } from '../usage.js';

export const summary = "open Grafana in the browser (prints the URL where there is none)";

export const command = {
  verb: 'open',
  help: `Usage: lgtmp open

Opens Grafana (host port from .env) in the default browser and prints its URL; where there is no
browser, the URL is the answer.

Options:
  -h, --help
Exit status: 0, or 2 on bad usage.`,
  options: {},
} as const;

export async function run(argv: string[]): Promise<number> {
  const args = parseOrExit(command, argv, () => parseFlags(command, argv));
  if (typeof args === 'number') return args;
  const url = grafanaUrl(readEnv());
  console.log(url);
  const opener = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  await new Promise<void>((resolve) => {
    const child = spawn(opener, [url], { stdio: 'ignore', detached: true });
    child.on('error', () => resolve()); // no desktop here: the printed URL is the answer
    child.on('spawn', () => {
      child.unref();
      resolve();
    });
  });
  return 0;
}
