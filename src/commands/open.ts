import { spawn } from 'node:child_process';
import { grafanaUrl, readEnv } from '../project.js';

export const summary = "open Grafana in the browser (prints the URL where there is none)";

export async function run(): Promise<number> {
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
