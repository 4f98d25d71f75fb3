import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { composeArgs, composeLogsTail, composePs, dockerAttached, type ContainerState } from '../docker.js';
import { checkDocker, checkPorts } from '../preflight.js';
import { OTLP_ENDPOINT, PROFILES_ENDPOINT, services, type ServiceFacts } from '../facts.js';
import { grafanaUrl, hostPort, readEnv, readyUrl } from '../project.js';
import { probe, seconds } from '../readiness.js';
import { UserError } from '../errors.js';
import { clickPath } from '../click-path.js';
import { durationValue, parseFlags, parseOrExit, UsageError } from '../usage.js';
import { checkWithFiles, runsHealthy } from '../with-files.js';

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
  --with <file>         also start the services of this compose file (repeatable), in the same
                        Compose project and network: they send to ${OTLP_ENDPOINT} (OTLP) and
                        ${PROFILES_ENDPOINT} (profiles). Compose must accept the file and no service
                        may take one of lgtmp's names; paths in it are relative to the lgtmp folder
  -h, --help
Exit status: 0 when every service is ready, 1 otherwise, 2 on bad usage, 130 when interrupted.`,
  options: {
    timeout: { type: 'string' },
    'no-build': { type: 'boolean' },
    with: { type: 'string', multiple: true },
  },
} as const;

const pollMs = 1000;

export function parseUpArgs(argv: string[]): { timeoutMs: number; build: boolean; withFiles: string[] } {
  const { values } = parseFlags(command, argv);
  const withFiles = (values.with ?? []).map((file) => {
    if (!existsSync(file)) throw new UsageError(`--with "${file}" is not a file: use the path of a compose file`);
    return resolve(file);
  });
  return { timeoutMs: values.timeout === undefined ? 600_000 : durationValue('--timeout', values.timeout), build: !values['no-build'], withFiles };
}

export async function run(argv: string[]): Promise<number> {
  const args = parseOrExit(command, argv, () => parseUpArgs(argv));
  if (typeof args === 'number') return args;
  const { timeoutMs, withFiles } = args;
  const env = readEnv();

  const { engine, compose } = await checkDocker().catch((err: unknown) => {
    throw err instanceof UserError ? new UserError(`${err.message} Nothing was started.`, err.hint, err.exitCode) : err;
  });
  const theirs = await checkWithFiles(withFiles);
  const states = await composePs();
  const running = new Set(states.filter((s) => s.state === 'running').map((s) => s.service));
  if ([...services.map((s) => s.name), ...theirs].every((name) => running.has(name))) {
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
    const code = await dockerAttached(composeArgs(upArgs, withFiles), (c) => (child = c));
    if (interrupted) return interruptedExit();
    if (code !== 0) {
      throw new UserError(`docker compose up failed (exit ${code}); its output is above.`, 'Fix what it reports, then run `npm start` again; `npm run stop` stops what did start.');
    }
    console.log('Waiting for every service to answer its readiness check:');
    const failed = await waitAllReady(env, theirs, withFiles, timeoutMs, () => interrupted);
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

/** How a service shows it is ready: ours answer their readiness URL; a --with service runs (and is healthy, with a healthcheck). */
interface Readiness {
  ready(state: ContainerState | undefined): Promise<boolean>;
  what: string;
}

function readiness(env: Record<string, string>, theirs: readonly string[]): Map<string, Readiness> {
  const ours = services.map((s: ServiceFacts): [string, Readiness] => [s.name, { ready: async () => (await probe(readyUrl(s, env))).ready, what: readyUrl(s, env) }]);
  const yours = theirs.map((name): [string, Readiness] => [
    name,
    { ready: async (state) => runsHealthy(state), what: 'its container running, healthy if it has a healthcheck' },
  ]);
  return new Map([...ours, ...yours]);
}

/** Polls every service until it is ready; one line per service when it is. */
async function waitAllReady(env: Record<string, string>, theirs: readonly string[], withFiles: readonly string[], timeoutMs: number, stop: () => boolean): Promise<Failure[]> {
  const started = Date.now();
  const pending = readiness(env, theirs);
  const failures: Failure[] = [];
  let lastNote = started;
  while (pending.size > 0 && !stop()) {
    const states = new Map<string, ContainerState>((await composePs()).map((s) => [s.service, s]));
    for (const [name, check] of [...pending]) {
      const state = states.get(name);
      if (state && (state.state === 'exited' || state.state === 'dead' || state.health === 'unhealthy')) {
        pending.delete(name);
        const reason = state.health === 'unhealthy' ? 'its healthcheck fails' : `its container stopped (exit code ${state.exitCode})`;
        failures.push({ service: name, reason, logs: await composeLogsTail(name, 20, withFiles) });
        continue;
      }
      if (await check.ready(state)) {
        pending.delete(name);
        console.log(`  ✔ ${name.padEnd(16)} ready after ${seconds(Date.now() - started)}`);
      }
    }
    const elapsed = Date.now() - started;
    if (elapsed > timeoutMs) {
      for (const [name, check] of pending) {
        failures.push({ service: name, reason: `not ready after ${seconds(elapsed)} (${check.what})`, logs: await composeLogsTail(name, 20, withFiles) });
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
