import { parseArgs } from 'node:util';
import { composeArgs, dockerAttached } from '../docker.js';
import { checkDocker } from '../preflight.js';
import { UserError } from '../errors.js';

export const summary = 'stop the stack; --purge also deletes its data volumes';

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { purge: { type: 'boolean', default: false } } });
  await checkDocker();
  const code = await dockerAttached(composeArgs('down', '--remove-orphans', ...(values.purge ? ['--volumes'] : [])));
  if (code !== 0) throw new UserError(`docker compose down failed (exit ${code}); its output is above.`);
  console.log(values.purge ? 'Stopped; logs, traces, metrics, profiles and Grafana data were deleted.' : 'Stopped. Data is kept for the next `npm start` (`npm run lgtmp -- down --purge` deletes it).');
  return 0;
}
