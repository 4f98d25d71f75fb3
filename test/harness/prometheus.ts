// A real Prometheus 3 peer: built once from its Go module into the cache, started per test on a free loopback
// port with the OTLP receiver and exemplar storage on, and a fresh data dir that is removed on close()
// (or when the process exits, if close() never ran).
import { existsSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cacheDir, requireGo, run, withCacheLock } from './cache.js';
import { freePort, launchApp, makeTempDir, removeTempDir, type LaunchedApp } from './launcher.js';

export const PROMETHEUS_VERSION = 'v0.316.0';
const MODULE = 'github.com/prometheus/prometheus/cmd/prometheus';

let ensurePromise: Promise<string> | undefined;

/** Path to the Prometheus binary; builds it with `go install` into the cache when missing. */
export function ensurePrometheus(): Promise<string> {
  ensurePromise ??= ensureImpl();
  ensurePromise.catch(() => { ensurePromise = undefined; });
  return ensurePromise;
}

async function ensureImpl(): Promise<string> {
  const dir = cacheDir(`prometheus-${PROMETHEUS_VERSION}`);
  const bin = join(dir, 'prometheus');
  const usable = (): boolean => existsSync(bin) && (statSync(bin).mode & 0o111) !== 0 && statSync(bin).size > 1_000_000;
  if (usable()) return bin;
  // the go directive of Prometheus v0.316.0's go.mod
  await requireGo(`Building Prometheus ${PROMETHEUS_VERSION} (go install ${MODULE})`, '1.26.7');
  return withCacheLock(bin, async () => {
    if (usable()) return bin; // built by the process we waited for
    // Holding the lock, this process alone writes here: what is left there came from a build that died.
    const gobin = join(dir, '.gobin');
    rmSync(gobin, { recursive: true, force: true });
    const started = Date.now();
    console.error(`[prometheus] building ${MODULE}@${PROMETHEUS_VERSION} into ${dir} (go install; several minutes on first run)…`);
    try {
      await run('go', ['install', `${MODULE}@${PROMETHEUS_VERSION}`], {
        cwd: tmpdir(), env: { ...process.env, GOBIN: gobin, CGO_ENABLED: process.env.CGO_ENABLED ?? '0' },
      });
      const built = join(gobin, 'prometheus');
      if (!existsSync(built)) throw new Error(`go install finished but ${built} does not exist`);
      renameSync(built, bin); // atomic: never a half-written binary at `bin`
    } finally {
      rmSync(gobin, { recursive: true, force: true });
    }
    const secs = ((Date.now() - started) / 1000).toFixed(0);
    console.error(`[prometheus] built ${bin} in ${secs} s (${(statSync(bin).size / 1e6).toFixed(0)} MB)`);
    return bin;
  });
}

export interface PrometheusSample { metric: Record<string, string>; value: [number, string] }
export interface PrometheusExemplars {
  seriesLabels: Record<string, string>;
  exemplars: { labels: Record<string, string>; value: string; timestamp: number }[];
}
export interface PrometheusPeer {
  url: string;
  query(expr: string): Promise<PrometheusSample[]>;
  exemplars(expr: string, startSec: number, endSec: number): Promise<PrometheusExemplars[]>;
  close(): Promise<void>;
  /** Prometheus' own log output (diagnostics). */
  output(): string;
}

export async function startPrometheus(): Promise<PrometheusPeer> {
  const bin = await ensurePrometheus();
  const port = await freePort();
  const work = makeTempDir('lgtmp-prometheus-');
  const data = join(work, 'data');
  mkdirSync(data);
  const config = join(work, 'prometheus.yml');
  writeFileSync(config, [
    '# lgtmp test peer: no scrape targets; metrics arrive through the OTLP receiver.',
    'global:',
    '  evaluation_interval: 15s',
    'storage:',
    '  exemplars:',
    '    max_exemplars: 100000',
    '  tsdb:',
    '    out_of_order_time_window: 10m',
    'otlp:',
    '  # the default, spelled out: metric names get unit and _total suffixes (http_server_request_duration_seconds_*)',
    '  translation_strategy: UnderscoreEscapingWithSuffixes',
    '',
  ].join('\n'));
  let app: LaunchedApp;
  try {
    app = await launchApp({
      name: 'prometheus',
      command: bin,
      args: [
        `--config.file=${config}`,
        `--storage.tsdb.path=${data}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--web.enable-otlp-receiver',
        '--enable-feature=exemplar-storage',
        '--log.level=warn',
      ],
      cwd: work,
      env: {},
      healthUrl: `http://127.0.0.1:${port}/-/ready`,
      timeoutMs: 60_000,
    });
  } catch (e) {
    removeTempDir(work);
    throw e;
  }
  const url = `http://127.0.0.1:${port}`;
  const api = async <T>(path: string, params: Record<string, string>): Promise<T> => {
    const res = await fetch(`${url}${path}?${new URLSearchParams(params).toString()}`, { signal: AbortSignal.timeout(15_000) });
    const text = await res.text();
    let body: { status?: string; data?: T; error?: string };
    try { body = JSON.parse(text) as typeof body; } catch { throw new Error(`Prometheus ${path}: HTTP ${res.status}: ${text.slice(0, 300)}`); }
    if (body.status !== 'success') throw new Error(`Prometheus ${path} ${JSON.stringify(params)}: ${body.error ?? text.slice(0, 300)}`);
    return body.data as T;
  };
  return {
    url,
    output: () => app.output(),
    query: async (expr) => {
      const d = await api<{ resultType: string; result: unknown }>('/api/v1/query', { query: expr });
      if (d.resultType === 'vector') return d.result as PrometheusSample[];
      if (d.resultType === 'scalar') return [{ metric: {}, value: d.result as [number, string] }];
      throw new Error(`query ${expr} returned a ${d.resultType}, expected a vector`);
    },
    exemplars: (expr, startSec, endSec) =>
      api<PrometheusExemplars[]>('/api/v1/query_exemplars', { query: expr, start: String(startSec), end: String(endSec) }),
    close: async () => {
      await app.stop();
      removeTempDir(work);
    },
  };
}
