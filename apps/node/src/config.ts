// Settings of the demo app, read from the environment (the same variables as the Go, Java and
// Python demo apps; see README, "The demo apps", and apps/node/README.md). Bad values never crash the app: they fall back
// to the default and are reported once on stderr.

export type RegexMode = 'bad' | 'fixed';

export interface TrafficRoute {
  name: string;
  path: string;
  weight: number;
}

export interface AppConfig {
  port: number;
  serviceName: string;
  /** Base URL of the next service of the /chain (e.g. http://demo-app:8080); unset = end of chain. */
  nextServiceUrl: string | undefined;
  slowIterations: number;
  regexMode: RegexMode;
  alloc: { maxBatches: number; chunks: number; chunkKiB: number };
  traffic: { enabled: boolean; rps: number; concurrency: number; mix: TrafficRoute[] };
}

export const DEFAULT_PORT = 18083;
/** /slow repeats the bounded bad-regex match this many times by default (~1-2 s on one core). */
export const DEFAULT_SLOW_ITERATIONS = 2000;
export const MAX_SLOW_ITERATIONS = 100_000;
/**
 * What the generator calls, one cycle of 30 requests (~30 s at TRAFFIC_RPS=1): one /slow (seconds of
 * checkEmail), one /alloc, one `fail` (3 %, so the error views have data), the rest the cheap /hello.
 * Every signal arrives every minute while the app stays within about a tenth of a core (README).
 */
export const DEFAULT_TRAFFIC_MIX = 'slow=1,hello=27,alloc=1,fail=1';

/** Paths the traffic generator may call, by the names TRAFFIC_MIX uses. */
export const TRAFFIC_PATHS: Record<string, string> = {
  slow: '/slow',
  hello: '/hello',
  alloc: '/alloc',
  chain: '/chain',
  fail: '/hello?fail=true',
};

type Env = Record<string, string | undefined>;

function warn(message: string): void {
  process.stderr.write(`node-demo-app: ${message}\n`);
}

/**
 * A number setting within min..max (an integer where `kind` says so); unset or blank means the
 * default. As in the Go, Java and Python apps, an unparsable or out-of-range value is never
 * clamped: it falls back to the default with a warning.
 */
function numberFromEnv(env: Env, name: string, fallback: number, min: number, max: number, kind: 'integer' | 'number'): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!(kind === 'integer' ? Number.isInteger(value) : Number.isFinite(value)) || value < min || value > max) {
    warn(`ignoring ${name}=${JSON.stringify(raw)} (want ${kind === 'integer' ? 'an integer' : 'a number'} ${min}..${max}); using ${fallback}`);
    return fallback;
  }
  return value;
}

export function parseRegexMode(raw: string | undefined): RegexMode | undefined {
  const v = raw?.trim().toLowerCase();
  return v === 'bad' || v === 'fixed' ? v : undefined;
}

/** Parses `slow=6,hello=3,alloc=1` (names from TRAFFIC_PATHS, non-negative integer weights). */
export function parseTrafficMix(raw: string): TrafficRoute[] | undefined {
  const routes: TrafficRoute[] = [];
  for (const part of raw.split(',')) {
    if (part.trim() === '') continue;
    const [name, weightText, ...rest] = part.split('=').map((s) => s.trim());
    const path = name === undefined ? undefined : TRAFFIC_PATHS[name];
    const weight = Number(weightText);
    if (name === undefined || path === undefined || rest.length > 0 || !Number.isInteger(weight) || weight < 0) {
      return undefined;
    }
    if (weight > 0) routes.push({ name, path, weight });
  }
  return routes.length > 0 ? routes : undefined;
}

export function loadConfig(env: Env = process.env): AppConfig {
  const mode = parseRegexMode(env['REGEX_MODE']);
  if (env['REGEX_MODE'] !== undefined && env['REGEX_MODE'] !== '' && mode === undefined) {
    warn(`ignoring REGEX_MODE=${JSON.stringify(env['REGEX_MODE'])} (want bad|fixed); using bad`);
  }
  const trafficRaw = env['TRAFFIC_GENERATOR']?.trim().toLowerCase();
  if (trafficRaw !== undefined && trafficRaw !== '' && trafficRaw !== 'on' && trafficRaw !== 'off') {
    warn(`ignoring TRAFFIC_GENERATOR=${JSON.stringify(env['TRAFFIC_GENERATOR'])} (want on|off); using on`);
  }
  const mixRaw = env['TRAFFIC_MIX'];
  let mix = parseTrafficMix(mixRaw === undefined || mixRaw.trim() === '' ? DEFAULT_TRAFFIC_MIX : mixRaw);
  if (mix === undefined) {
    warn(`ignoring TRAFFIC_MIX=${JSON.stringify(mixRaw)} (want e.g. ${DEFAULT_TRAFFIC_MIX}); using the default`);
    mix = parseTrafficMix(DEFAULT_TRAFFIC_MIX) as TrafficRoute[];
  }
  const next = env['NEXT_SERVICE_URL']?.trim();
  let nextServiceUrl: string | undefined;
  if (next !== undefined && next !== '') {
    try {
      nextServiceUrl = new URL(next).toString().replace(/\/+$/, '');
    } catch {
      warn(`ignoring NEXT_SERVICE_URL=${JSON.stringify(next)} (not a URL); /chain ends here`);
    }
  }
  return {
    port: numberFromEnv(env, 'PORT', DEFAULT_PORT, 0, 65535, 'integer'),
    serviceName: env['OTEL_SERVICE_NAME']?.trim() || 'node-demo-app',
    nextServiceUrl,
    slowIterations: numberFromEnv(env, 'SLOW_ITERATIONS', DEFAULT_SLOW_ITERATIONS, 1, MAX_SLOW_ITERATIONS, 'integer'),
    regexMode: mode ?? 'bad',
    alloc: {
      maxBatches: numberFromEnv(env, 'ALLOC_MAX_BATCHES', 20, 1, 10_000, 'integer'),
      chunks: numberFromEnv(env, 'ALLOC_CHUNKS', 200, 1, 100_000, 'integer'),
      chunkKiB: numberFromEnv(env, 'ALLOC_CHUNK_KIB', 256, 1, 1_048_576, 'integer'),
    },
    traffic: {
      enabled: trafficRaw !== 'off',
      rps: numberFromEnv(env, 'TRAFFIC_RPS', 1, 0.001, 1000, 'number'),
      concurrency: numberFromEnv(env, 'TRAFFIC_CONCURRENCY', 2, 1, 100, 'integer'),
      mix,
    },
  };
}
