import type { ChildProcess } from 'node:child_process';
import { composeArgs, composeLogsTail, composePs, dockerAttached, type ContainerState } from '../docker.js';
import { checkDocker, checkPorts } from '../preflight.js';
import { services, type ServiceFacts } from '../facts.js';
import { grafanaUrl, hostPort, readEnv, readyUrl } from '../project.js';
import { probe, seconds } from '../readiness.js';
import { UserError } from '../errors.js';
import { clickPath } from '../click-path.js';
import { durationValue, parseFlags, parseOrExit } from '../usage.js';

export const summary = 'start the stack and the demo apps with Docker Compose, and wait until all are ready';

export const command = {
  verb: 'up',
  help: `Usage: lgtmp up [options]

Checks Docker Engine, Compose v2 and that every host port in .env is free, builds the demo apps,
starts the stack with Docker Compose, and waits until every service answers its readiness check.

Options:
  --timeout <duration>  how long to wait for every service to be ready: 90s, 5m, 1h or a number
                        of seconds (default 10m)
  --no-build            start with the app images built before
  -h, --help
Exit status: 0 when every service is ready, 1 otherwise, 2 on bad usage, 130 when interrupted.`,
  options: {
    timeout: { type: 'string' },
    'no-build': { type: 'boolean' },
  },
} as const;

const pollMs = 1000;

export function parseUpArgs(argv: string[]): { timeoutMs: number; build: boolean } {
  const { values } = parseFlags(command, argv);
  return { timeoutMs: values.timeout === undefined ? 600_000 : durationValue('--timeout', values.timeout), build: !values['no-build'] };
}

export async function run(argv: string[]): Promise<number> {
  const args = parseOrExit(command, argv, () => parseUpArgs(argv));
  if (typeof args === 'number') return args;
  const { timeoutMs } = args;
  const env = readEnv();

  const { engine, compose } = await checkDocker().catch((err: unknown) => {
    throw err instanceof UserError ? new UserError(`${err.message} Nothing was started.`, err.hint, err.exitCode) : err;
  });
  const states = await composePs();
  const running = new Set(states.filter((s) => s.state === 'running').map((s) => s.service));
  if (services.every((s) => running.has(s.name))) {
    console.log('lgtmp is already up; nothing was started again.');
    printWhereToGo(env);
    return 0;
  }
  await checkPorts(
    services
      .filter((s) => !running.has(s.name))
      .flatMap((s) => s.ports.map(({ envKey }) => ({ service: s.name, envKey, port: hostPort(env, envKey) }))),
  );

  console.log(`Starting lgtmp (Docker Engine ${engine}, Compose ${compose}). The first build of the demo apps takes 5-10 minutes.`);
  let child: ChildProcess | undefined;
  let interrupted = false;
  const onInterrupt = (): void => {
    interrupted = true;
    child?.kill('SIGINT');
  };
  process.on('SIGINT', onInterrupt);
  try {
    const upArgs = ['up', '--detach', '--remove-orphans', ...(args.build ? ['--build'] : [])];
    const code = await dockerAttached(composeArgs(...upArgs), (c) => (child = c));
    if (interrupted) return interruptedExit();
    if (code !== 0) {
      throw new UserError(`docker compose up failed (exit ${code}); its output is above.`, 'Fix what it reports, then run `npm start` again; `npm run stop` stops what did start.');
    }
    console.log('Waiting for every service to answer its readiness check:');
    const failed = await waitAllReady(env, timeoutMs, () => interrupted);
    if (interrupted) return interruptedExit();
    if (failed.length > 0) {
      for (const { service, reason, logs } of failed) {
        console.error(`\n✘ ${service}: ${reason}\n--- last log lines of ${service} ---\n${logs}\n--- see more: npm run lgtmp -- logs ${service}`);
      }
      throw new UserError(
        `${failed.map((f) => f.service).join(', ')} did not become ready.`,
        'The rest of the stack is running; `npm run lgtmp -- status` shows each service, `npm run stop` stops everything.',
      );
    }
    printWhereToGo(env);
    return 0;
  } finally {
    process.off('SIGINT', onInterrupt);
  }
}

function interruptedExit(): number {
  console.error(
    '\nInterrupted. Some services may already be running.\n' +
      '  continue starting:  npm start\n' +
      '  stop what started:  npm run stop',
  );
  return 130;
}

interface Failure {
  service: string;
  reason: string;
  logs: string;
}

/** Polls every service's readiness URL from the host; one line per service when it is ready. */
async function waitAllReady(env: Record<string, string>, timeoutMs: number, stop: () => boolean): Promise<Failure[]> {
  const started = Date.now();
  const pending = new Map<string, ServiceFacts>(services.map((s) => [s.name, s]));
  const failures: Failure[] = [];
  let lastNote = started;
  while (pending.size > 0 && !stop()) {
    const states = new Map<string, ContainerState>((await composePs()).map((s) => [s.service, s]));
    for (const service of [...pending.values()]) {
      const state = states.get(service.name);
      if (state && (state.state === 'exited' || state.state === 'dead' || state.health === 'unhealthy')) {
        pending.delete(service.name);
        const reason = state.health === 'unhealthy' ? 'its healthcheck fails' : `its container stopped (exit code ${state.exitCode})`;
        failures.push({ service: service.name, reason, logs: await composeLogsTail(service.name, 20) });
        continue;
      }
      const answer = await probe(readyUrl(service, env));
      if (answer.ready) {
        pending.delete(service.name);
        console.log(`  ✔ ${service.name.padEnd(16)} ready after ${seconds(Date.now() - started)}`);
      }
    }
    const elapsed = Date.now() - started;
    if (elapsed > timeoutMs) {
      for (const service of pending.values()) {
        failures.push({ service: service.name, reason: `not ready after ${seconds(elapsed)} (${readyUrl(service, env)})`, logs: await composeLogsTail(service.name, 20) });
      }
      break;
    }
    if (pending.size > 0 && Date.now() - lastNote >= 15_000) {
      lastNote = Date.now();
      console.log(`  … ${seconds(elapsed)}: waiting for ${[...pending.keys()].join(', ')}`);
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
  return failures;
}

function printWhereToGo(env: Record<string, string>): void {
  console.log(`\nGrafana: ${grafanaUrl(env)}  (anonymous Admin; dashboards in the LGTMP folder)`);
  console.log('The click path (Logs -> Traces -> Metrics -> Profiles):');
  for (const step of clickPath(env)) console.log(`  ${step.title.padEnd(28)} ${step.url}`);
  console.log('Prove every link on live data: npm run lgtmp -- verify --wait 3m');
}
