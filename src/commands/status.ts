import { composePs } from '../docker.js';
import { checkDocker } from '../preflight.js';
import { services } from '../facts.js';
import { hostPort, readEnv, readyUrl } from '../project.js';
import { probe } from '../readiness.js';
import { columns } from '../columns.js';
import { parseFlags, parseOrExit } from '../usage.js';
import { runsHealthy } from '../with-files.js';

export const summary = 'show each service: state, health, version, host port and its own readiness answer';

export const command = {
  verb: 'status',
  help: `Usage: lgtmp status [options]

One row per service: container state, healthcheck, image version, host port, and the answer of its
own readiness URL on that port; then the services started with \`up --with\`, ready when their
container runs (and is healthy, with a healthcheck).

Options:
  --json      machine-readable output
  -h, --help
Exit status: 0 when every service is ready, 1 otherwise, 2 on bad usage.`,
  options: { json: { type: 'boolean' } },
} as const;

export async function run(argv: string[]): Promise<number> {
  const args = parseOrExit(command, argv, () => ({ json: parseFlags(command, argv).values.json ?? false }));
  if (typeof args === 'number') return args;
  const env = readEnv();
  await checkDocker();
  const states = new Map((await composePs()).map((s) => [s.service, s]));
  const ours = await Promise.all(
    services.map(async (service) => {
      const state = states.get(service.name);
      const answer = state?.state === 'running' ? await probe(readyUrl(service, env)) : { ready: false, detail: '-' };
      return {
        service: service.name,
        state: state ? state.state + (state.state === 'exited' ? ` (${state.exitCode})` : '') : 'not created',
        health: state?.health || '-',
        version: service.versionKey ? env[service.versionKey] ?? '?' : 'built here',
        port: hostPort(env, service.portKey) as number | null,
        ready: answer.ready,
        readiness: answer.detail,
      };
    }),
  );
  const theirs = [...states.values()]
    .filter((state) => !services.some((s) => s.name === state.service))
    .map((state) => ({
      service: state.service,
      state: state.state + (state.state === 'exited' ? ` (${state.exitCode})` : ''),
      health: state.health || '-',
      version: 'up --with',
      port: null,
      ready: runsHealthy(state),
      readiness: '-',
    }));
  const rows = [...ours, ...theirs];
  if (args.json) {
    console.log(JSON.stringify(rows, null, 2));
  } else {
    const header = ['SERVICE', 'STATE', 'HEALTH', 'VERSION', 'PORT', 'READY', 'READINESS ANSWER'];
    const table = [header, ...rows.map((r) => [r.service, r.state, r.health, r.version, String(r.port ?? '-'), r.ready ? 'yes' : 'no', r.readiness])];
    console.log(columns(table));
  }
  return rows.every((r) => r.ready) ? 0 : 1;
}
