// Benchmark of the four demo apps, instrumented (as users run them) and uninstrumented (the same app without
// agent, instrument command, bootstrap or SDK): time to healthy, /hello latency, one /slow, and resident memory
// after /alloc bursts. Telemetry goes to the in-process receivers. Each app runs BENCH_RUNS times in each mode
// (default 5), on and off alternating (on-off, then off-on, ...) so that a drift of the machine's load falls on
// both; each figure is the median of its runs with their range, and the on/off ratio is that of the medians.
// The apps run with their images' settings (export and upload intervals as deployed), only the traffic generator
// off and /alloc kept small.
// Prints the table; asserts nothing.
//
//   npm run bench                   every app
//   LGTMP_APPS=go,node npm run bench
//   BENCH_RUNS=1 BENCH_HELLO_REQUESTS=200 npm run bench    a quick look, not a measurement
import { readFileSync } from 'node:fs';
import { columns } from '../../src/columns.js';
import { selectedApps } from '../apps/index.js';
import type { AppSpec } from '../harness/app-spec.js';
import { freePort, launchApp } from '../harness/launcher.js';
import { startOtlpReceiver } from '../harness/otlp-receiver.js';
import { startProfileReceiver } from '../harness/profile-receiver.js';

const helloRequests = Number(process.env.BENCH_HELLO_REQUESTS ?? 1000);
const runs = Number(process.env.BENCH_RUNS ?? 5);
const warmup = 200;

type Mode = 'instrumented' | 'uninstrumented';

interface Figures {
  startupS: number;
  helloP50Ms: number;
  helloP99Ms: number;
  slowS: number;
  rssAfterAllocMb: number;
}

async function timed(url: string): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(url);
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return performance.now() - t0;
}

const quantile = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

/** VmRSS of the app's process (Linux). */
function rssMb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
  return Number(line?.split(/\s+/)[1] ?? NaN) / 1024;
}

/** What the bench keeps of the tests' settings on top of the deployed ones: no generated traffic, a small /alloc. */
const DEPLOYED_BUT_QUIET = { TRAFFIC_GENERATOR: 'off', ALLOC_MAX_BATCHES: '3' };

async function measure(spec: AppSpec, mode: Mode, endpoints: { otlpUrl: string; pyroscopeUrl: string }): Promise<Figures> {
  const port = await freePort();
  // The images' own export and upload intervals (spans 5 s, metrics 15-60 s, profiles 10-15 s), not the tests'
  // short ones, which add work (a profile upload every 2 s, a metric export every 2 s) that users' apps do not do.
  const request = { port, ...endpoints, deployed: true, env: DEPLOYED_BUT_QUIET };
  const options = mode === 'instrumented' ? spec.launch(request) : spec.uninstrumented(request);
  const t0 = performance.now();
  const app = await launchApp(options);
  const startupS = (performance.now() - t0) / 1000;
  try {
    const base = `http://127.0.0.1:${port}`;
    for (let i = 0; i < warmup; i++) await timed(`${base}/hello`);
    const hello: number[] = [];
    for (let i = 0; i < helloRequests; i++) hello.push(await timed(`${base}/hello`));
    hello.sort((a, b) => a - b);
    const slowS = (await timed(`${base}/slow`)) / 1000;
    for (let i = 0; i < 3; i++) await timed(`${base}/alloc`);
    return { startupS, helloP50Ms: quantile(hello, 0.5), helloP99Ms: quantile(hello, 0.99), slowS, rssAfterAllocMb: rssMb(app.pid) };
  } finally {
    await app.stop();
  }
}

const FIGURES: { key: keyof Figures; header: string; digits: number }[] = [
  { key: 'startupS', header: 'startup s', digits: 1 },
  { key: 'helloP50Ms', header: '/hello p50 ms', digits: 3 },
  { key: 'helloP99Ms', header: '/hello p99 ms', digits: 3 },
  { key: 'slowS', header: '/slow s', digits: 2 },
  { key: 'rssAfterAllocMb', header: 'RSS MB after 3 /alloc', digits: 0 },
];

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** `median [min-max]` of one figure over the runs. */
function cell(runsOf: Figures[], f: (typeof FIGURES)[number]): string {
  const xs = runsOf.map((r) => r[f.key]);
  const n = (x: number): string => x.toFixed(f.digits);
  return xs.length > 1 ? `${n(median(xs))} [${n(Math.min(...xs))}-${n(Math.max(...xs))}]` : n(xs[0]!);
}

async function main(): Promise<void> {
  const otlp = await startOtlpReceiver();
  const profiles = await startProfileReceiver();
  const endpoints = { otlpUrl: otlp.url, pyroscopeUrl: profiles.url };
  const rows: string[][] = [];
  try {
    for (const spec of selectedApps()) {
      await spec.prepare();
      const results: Record<Mode, Figures[]> = { instrumented: [], uninstrumented: [] };
      for (let i = 0; i < runs; i++) {
        const order: Mode[] = i % 2 === 0 ? ['instrumented', 'uninstrumented'] : ['uninstrumented', 'instrumented'];
        for (const mode of order) results[mode].push(await measure(spec, mode, endpoints));
        console.error(`${spec.service}: run ${i + 1} of ${runs} done`);
      }
      for (const mode of ['instrumented', 'uninstrumented'] as const) rows.push([spec.service, mode, ...FIGURES.map((f) => cell(results[mode], f))]);
      rows.push([spec.service, 'on/off', ...FIGURES.map((f) => (median(results.instrumented.map((r) => r[f.key])) / median(results.uninstrumented.map((r) => r[f.key]))).toFixed(2))]);
    }
  } finally {
    await otlp.close();
    await profiles.close();
  }
  console.log(`median [min-max] of ${runs} run(s) per mode, on and off alternating; ${helloRequests} sequential /hello after ${warmup} warm-up, keep-alive; export and upload intervals as deployed; traffic generator off, /alloc kept at 3 batches\n`);
  console.log(columns([['service', 'mode', ...FIGURES.map((f) => f.header)], ...rows]));
}

await main();
