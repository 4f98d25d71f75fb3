// The examples under examples/<folder>: a user's own minimal service per language, each with a Dockerfile and a
// compose snippet for `lgtmp up --with examples/<folder>/compose.yaml`. What the tests need to know about one (its
// service name, its host port, how it starts) is read from those two files, as Compose and BuildKit read them
// (test/harness/app-env.ts), never written again here.
import { readdirSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { appStart, composeServices, loadAppImage, type AppImage, type LocalLayout } from './app-env.js';
import { launchOptions, type LaunchRequest } from './app-spec.js';
import { repoRoot } from './cache.js';
import type { LaunchOptions } from './launcher.js';

export const examplesRoot = join(repoRoot, 'examples');

/** The folders of examples/ (each one example), sorted. */
export function exampleFolders(): string[] {
  return readdirSync(examplesRoot, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
}

/** An example's compose snippet, relative to the repository (as `lgtmp up --with` is given it). */
export function snippetOf(folder: string): string {
  return relative(repoRoot, join(examplesRoot, folder, 'compose.yaml'));
}

/** What an example's compose snippet says about it, merged with compose.yaml as `up --with` merges it. */
export interface ExampleService {
  folder: string;
  /** the compose service built from examples/<folder>; its OTEL_SERVICE_NAME is the same (checked) */
  service: string;
  /** the published host port, the address it is bound to, and the container port behind it */
  hostPort: number;
  hostIp: string;
  containerPort: number;
  environment: Record<string, string>;
}

/** Reads examples/<folder>/compose.yaml through compose-go; throws naming what the snippet lacks. */
export async function exampleService(folder: string): Promise<ExampleService> {
  const snippet = join(examplesRoot, folder, 'compose.yaml');
  if (!existsSync(snippet)) throw new Error(`examples/${folder} has no compose.yaml`);
  const services = await composeServices([snippet]);
  const context = join(examplesRoot, folder);
  const built = Object.entries(services).filter(([, s]) => s.build?.context === context);
  if (built.length !== 1) throw new Error(`${snippetOf(folder)}: want one service built from ./examples/${folder}, found ${built.map(([n]) => n).join(', ') || 'none'}`);
  const [service, s] = built[0]!;
  const port = s.ports?.[0];
  if (!port?.published) throw new Error(`${snippetOf(folder)}: ${service} publishes no host port`);
  const environment = Object.fromEntries(Object.entries(s.environment ?? {}).map(([k, v]) => [k, v ?? '']));
  return { folder, service, hostPort: Number(port.published), hostIp: port.host_ip ?? '', containerPort: port.target, environment };
}

/**
 * One example as test/examples.test.ts drives it (test/examples/<folder>.ts exports it as `example`).
 * Every example serves GET / (the health probe) and GET <work.path>: CPU work in the named function `work.frame`,
 * inside a child span `work.childSpan` of the server span, and one log record through the language's logs bridge.
 */
export interface ExampleSpec {
  folder: string;
  /** Build/install into the cache (idempotent); throws a clear error naming a missing toolchain. */
  prepare(): Promise<void>;
  /** Where the tests keep what the image holds (see LocalLayout); called after prepare(). */
  layout(image: AppImage): LocalLayout;
  /** How long start-up may take. */
  startTimeoutMs: number;
  work: {
    /** the route as the span and the metric name it (http.route) */
    route: string;
    /** the request: the route with a query that makes the work take roughly 0.3-1 s here */
    path: string;
    /** a request the route must refuse with a 4xx */
    badPath: string;
    childSpan: string;
    /** the work function as the profiler names its frame */
    frame: RegExp;
  };
  /** Set (to the reason) when the language's OpenTelemetry SDK records no exemplars: that check is then a skip. */
  noExemplars?: string;
  /**
   * Set when the example's code flushes every signal on SIGTERM (its shutdown path is then checked); the environment
   * that makes its profiler's periodic upload longer than the check, if it has one; profileNotFlushed: the upstream
   * reason when its profiler drops the last profile at exit (that part of the check is then a visible skip).
   */
  sigtermFlush?: { env: Record<string, string>; profileNotFlushed?: string };
  /**
   * Files the guide tells users to copy from a demo app, kept byte for byte (checked): example file -> its source,
   * both relative to the repository.
   */
  copies?: Record<string, string>;
}

/** A loaded example: its compose facts and its image, ready to launch. */
export interface LoadedExample { spec: ExampleSpec; compose: ExampleService; image: AppImage }

export async function loadExample(spec: ExampleSpec): Promise<LoadedExample> {
  await spec.prepare();
  const compose = await exampleService(spec.folder);
  const image = await loadAppImage(compose.service, [join(examplesRoot, spec.folder, 'compose.yaml')]);
  return { spec, compose, image };
}

/** The example started as its image and compose snippet say, on this machine (test/harness/app-env.ts). */
export function exampleLaunch(e: LoadedExample, o: LaunchRequest): LaunchOptions {
  const start = appStart(e.image, o, e.spec.layout(e.image));
  const launch = launchOptions(e.compose.service, o, { ...start, timeoutMs: e.spec.startTimeoutMs });
  return { ...launch, healthUrl: `http://127.0.0.1:${o.port}/` };
}

