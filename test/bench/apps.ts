// Benchmark of the four demo apps, instrumented (as users run them) and uninstrumented (the same app without
// agent, instrument command, bootstrap or SDK): time to healthy, /hello latency, one /slow, and resident memory
// after /alloc bursts. Telemetry goes to the in-process receivers. Prints figures; asserts nothing.
//
//   npm run bench                   every app
//   LGTMP_APPS=go,node npm run bench
import { readFileSync } from 'node:fs';
import { columns } from '../../src/columns.js';
import { selectedApps } from '../apps/index.js';
import type { AppSpec } from '../harness/app-spec.js';
import { freePort, launchApp } from '../harness/launcher.js';
import { startOtlpReceiver } from '../harness/otlp-receiver.js';
import { startProfileReceiver } from '../harness/profile-receiver.js';

const helloRequests = Number(process.env.BENCH_HELLO_REQUESTS ?? 1000);
const warmup = 200;

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

async function measure(spec: AppSpec, mode: 'instrumented' | 'uninstrumented', endpoints: { otlpUrl: string; pyroscopeUrl: string }): Promise<Figures> {
  const port = await freePort();
  const request = { port, ...endpoints };
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

async function main(): Promise<void> {
  const otlp = await startOtlpReceiver();
  const profiles = await startProfileReceiver();
  const endpoints = { otlpUrl: otlp.url, pyroscopeUrl: profiles.url };
  const rows: string[][] = [];
  try {
    for (const spec of selectedApps()) {
      await spec.prepare();
      const on = await measure(spec, 'instrumented', endpoints);
      const off = await measure(spec, 'uninstrumented', endpoints);
      for (const [mode, f] of [['instrumented', on], ['uninstrumented', off]] as const) {
        rows.push([spec.service, mode, f.startupS.toFixed(1), f.helloP50Ms.toFixed(3), f.helloP99Ms.toFixed(3), f.slowS.toFixed(2), f.rssAfterAllocMb.toFixed(0)]);
      }
      rows.push([spec.service, 'ratio on/off', (on.startupS / off.startupS).toFixed(2), (on.helloP50Ms / off.helloP50Ms).toFixed(2), (on.helloP99Ms / off.helloP99Ms).toFixed(2), (on.slowS / off.slowS).toFixed(2), (on.rssAfterAllocMb / off.rssAfterAllocMb).toFixed(2)]);
    }
  } finally {
    await otlp.close();
    await profiles.close();
  }
  const header = ['service', 'mode', 'startup s', '/hello p50 ms', '/hello p99 ms', '/slow s', 'RSS MB after 3 /alloc'];
  console.log(`${helloRequests} sequential /hello after ${warmup} warm-up, keep-alive; /alloc kept at 3 batches by the test environment\n`);
  console.log(columns([header, ...rows]));
}

await main();
