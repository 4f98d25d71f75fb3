// How each app is started in the tests, taken from what users run rather than written again: its image's config
// (the final stage's ENV, ENTRYPOINT/CMD and WORKDIR, as BuildKit computes them from the Dockerfile:
// `tools/dockerfile-check -image-config`) and its compose.yaml service's environment (loaded by compose-go:
// `tools/compose-validate`). Mapped to this machine in one place, appStart():
// - the image's folders are where the tests keep the app (the caller's `paths`, e.g. /opt/venv -> the cached venv);
// - every address of another container is the tests' stand-in for it (PORT, the OTLP and Pyroscope receivers, the
//   next app of the chain); a compose address nothing here maps is an error, not silently kept;
// - then the tests' own settings (TEST_SETTINGS: short export intervals, traffic generator off), unless the
//   request is for the app as deployed (the steady-state benchmark).
// Not known here: what the base images themselves set (they are not pulled; e.g. the node image's entrypoint
// script, which runs the CMD as given), and USER: the apps run as the current user.
import { run } from './cache.js';
import { goTool } from './go-tool.js';
import { composeFile } from '../../src/project.js';
import type { LaunchRequest } from './app-spec.js';

/** An app's image config, as BuildKit computes it from the Dockerfile. */
export interface ImageConfig { Env: string[]; Entrypoint: string[] | null; Cmd: string[] | null; WorkingDir: string; User: string }

/** A compose service as compose-go resolves it (the fields the tests read). */
export interface ComposeService {
  build?: { context: string };
  environment?: Record<string, string | null>;
  ports?: { host_ip?: string; target: number; published?: string }[];
}

const projects = new Map<string, Promise<Record<string, ComposeService>>>();

/**
 * compose.yaml's services as compose-go resolves them (with .env interpolated, build contexts absolute), merged with
 * `withFiles` as `lgtmp up --with` merges them (paths resolved against compose.yaml's folder, as Compose does).
 */
export function composeServices(withFiles: readonly string[] = []): Promise<Record<string, ComposeService>> {
  const files = [composeFile, ...withFiles];
  const key = files.join('\0');
  let project = projects.get(key);
  if (!project) {
    project = (async () => {
      const r = await run(await goTool('compose-validate'), files);
      return (JSON.parse(r.stdout) as { services: Record<string, ComposeService> }).services;
    })();
    projects.set(key, project);
  }
  return project;
}

/** The services compose.yaml builds from a Dockerfile, with their build contexts. */
export async function imageContexts(): Promise<{ service: string; context: string }[]> {
  return Object.entries(await composeServices())
    .filter(([, s]) => s.build)
    .map(([service, s]) => ({ service, context: s.build!.context }));
}

/** What appStart() maps: the image's config and compose's environment for one service. */
export interface AppImage { service: string; image: ImageConfig; compose: Record<string, string>; composeHosts: string[] }

/**
 * Reads the service's image config and compose environment (prepare() calls it; launch() then maps synchronously);
 * withFiles: the compose files it comes from besides compose.yaml (an example's snippet).
 */
export async function loadAppImage(service: string, withFiles: readonly string[] = []): Promise<AppImage> {
  const services = await composeServices(withFiles);
  const s = services[service];
  if (!s?.build) throw new Error(`${['compose.yaml', ...withFiles].join(' + ')}: no service ${service} built from a Dockerfile`);
  const r = await run(await goTool('dockerfile-check'), ['-image-config', s.build.context]);
  const compose = Object.fromEntries(Object.entries(s.environment ?? {}).map(([k, v]) => [k, v ?? '']));
  return { service, image: JSON.parse(r.stdout) as ImageConfig, compose, composeHosts: Object.keys(services) };
}

/** Where the tests keep what the image holds: image path (a folder or a file) -> local path. */
export interface LocalLayout {
  paths: Record<string, string>;
  /** Folders put first on PATH: the host's runtime standing in for the base image's (node, the JDK). */
  toolDirs?: string[];
  /** The working folder when the image sets no WORKDIR. */
  cwd?: string;
  /** What the app needs on this machine beyond the image (e.g. where the Java entrypoint finds the jars). */
  env?: Record<string, string>;
  /** The app's own test settings, with TEST_SETTINGS (e.g. shorter upload intervals); left out when deployed. */
  testSettings?: Record<string, string>;
}

/**
 * The tests' own settings, on top of the image's and compose's: short export intervals (the SDK defaults: spans
 * 5 s, logs 1 s, metrics 60 s), the traffic generator off, /alloc kept small.
 */
export const TEST_SETTINGS: Readonly<Record<string, string>> = {
  OTEL_BSP_SCHEDULE_DELAY: '500',
  OTEL_BLRP_SCHEDULE_DELAY: '500',
  OTEL_METRIC_EXPORT_INTERVAL: '2000',
  TRAFFIC_GENERATOR: 'off',
  ALLOC_MAX_BATCHES: '3',
};

/**
 * The settings that name another container in compose.yaml, and the tests' stand-ins for them: each app listens on
 * the tests' port and sends to the receivers; the next app of the chain is the one the test names, or none.
 * OTEL_PYROSCOPE_SERVER_ADDRESS (the seed's spelling, which the Java entrypoint maps) is replaced where it is set.
 */
function standIns(env: Record<string, string>, o: LaunchRequest): void {
  env['PORT'] = String(o.port);
  env['OTEL_EXPORTER_OTLP_ENDPOINT'] = o.otlpUrl;
  env['PYROSCOPE_SERVER_ADDRESS'] = o.pyroscopeUrl;
  if ('OTEL_PYROSCOPE_SERVER_ADDRESS' in env) env['OTEL_PYROSCOPE_SERVER_ADDRESS'] = o.pyroscopeUrl;
  if (o.nextServiceUrl) env['NEXT_SERVICE_URL'] = o.nextServiceUrl;
  else delete env['NEXT_SERVICE_URL'];
}

/** The command, arguments, folder and environment that start the app as its container would, on this machine. */
export function appStart(app: AppImage, o: LaunchRequest, local: LocalLayout): { command: string; args: string[]; cwd: string; env: Record<string, string> } {
  // Longest image path first, each replaced only as a whole path segment.
  const mappings = Object.entries(local.paths).sort(([a], [b]) => b.length - a.length);
  const mapPath = (value: string): string => {
    for (const [from, to] of mappings) {
      value = value.replace(new RegExp(`(^|[=:\\s])${from.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?=/|$|[:\\s])`, 'g'), `$1${to}`);
    }
    return value;
  };
  const env: Record<string, string> = {};
  for (const entry of app.image.Env) {
    const eq = entry.indexOf('=');
    env[entry.slice(0, eq)] = mapPath(entry.slice(eq + 1));
  }
  // PATH: the image's folders that the tests hold, then the host's runtime and PATH (the base image's system
  // folders hold nothing here).
  const imagePath = (env['PATH'] ?? '').split(':').filter((d) => mappings.some(([, to]) => d.startsWith(to)));
  env['PATH'] = [...imagePath, ...(local.toolDirs ?? []), process.env.PATH ?? ''].join(':');
  Object.assign(env, app.compose);
  standIns(env, o);
  for (const [key, value] of Object.entries(env)) {
    const host = app.composeHosts.find((h) => value.includes(`//${h}:`));
    if (host) throw new Error(`${app.service}: compose.yaml sets ${key}=${value}, an address of the ${host} container, and test/harness/app-env.ts has no stand-in for it`);
  }
  Object.assign(env, o.deployed ? {} : { ...TEST_SETTINGS, ...local.testSettings }, local.env ?? {}, o.env ?? {});

  const argv = [...(app.image.Entrypoint ?? []), ...(app.image.Cmd ?? [])].map(mapPath);
  if (argv.length === 0) throw new Error(`${app.service}: its image has neither ENTRYPOINT nor CMD`);
  if (argv[0]!.startsWith('/') && !mappings.some(([, to]) => argv[0]!.startsWith(to))) {
    throw new Error(`${app.service}: the image starts ${argv[0]}, which the tests' layout does not map to a local file`);
  }
  const cwd = app.image.WorkingDir ? local.paths[app.image.WorkingDir] : local.cwd;
  if (!cwd) throw new Error(`${app.service}: no local folder for the image's WORKDIR ${app.image.WorkingDir || '(none set)'}`);
  return { command: argv[0]!, args: argv.slice(1), cwd, env };
}
