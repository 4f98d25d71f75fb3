import { composeArgs, dockerAttached } from '../docker.js';
import { checkDocker } from '../preflight.js';
import { UserError } from '../errors.js';
import { parseFlags, parseOrExit } from '../usage.js';

export const summary = 'stop the stack; --purge also deletes its data volumes';

export const command = {
  verb: 'down',
  help: `Usage: lgtmp down [options]

Stops and removes the stack's containers, those started with \`up --with\` included. Logs, traces,
metrics, profiles and Grafana's data stay in named volumes for the next start unless --purge.

Options:
  --purge     also delete the data volumes
  -h, --help
Exit status: 0 when stopped, 1 when Docker or Compose failed, 2 on bad usage.`,
  options: { purge: { type: 'boolean' } },
} as const;

export async function run(argv: string[]): Promise<number> {
  const args = parseOrExit(command, argv, () => ({ purge: parseFlags(command, argv).values.purge ?? false }));
  if (typeof args === 'number') return args;
  await checkDocker();
  const code = await dockerAttached(composeArgs(['down', '--remove-orphans', ...(args.purge ? ['--volumes'] : [])]));
  if (code !== 0) throw new UserError(`docker compose down failed (exit ${code}); its output is above.`);
  console.log(args.purge ? 'Stopped; logs, traces, metrics, profiles and Grafana data were deleted.' : 'Stopped. Data is kept for the next `npm start` (`npm run lgtmp -- down --purge` deletes it).');
  return 0;
}
