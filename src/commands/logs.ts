import { parseArgs } from 'node:util';
import { composeArgs, dockerAttached } from '../docker.js';
import { findService, services } from '../project.js';
import { UserError } from '../errors.js';

export const summary = 'show the logs of one service (-f to follow)';

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { follow: { type: 'boolean', short: 'f', default: false }, tail: { type: 'string', default: '200' } },
  });
  const name = positionals[0];
  const known = services.map((s) => s.name).join(', ');
  if (!name) throw new UserError('Which service? Usage: lgtmp logs <service> [-f]', `Services: ${known}`, 2);
  if (!findService(name)) throw new UserError(`There is no service "${name}".`, `Services: ${known}`, 2);
  return dockerAttached(composeArgs('logs', '--tail', values.tail ?? '200', ...(values.follow ? ['--follow'] : []), name));
}
