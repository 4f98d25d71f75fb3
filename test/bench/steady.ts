// The demo's own load at steady state: the four apps at once, each as compose.yaml runs it (its image's and
// compose's settings: traffic generator on at the default rate and mix, default upload intervals), chained as in
// compose (NEXT_SERVICE_URL), with telemetry going to the in-process receivers. After a warm-up, for the measured
// window, prints each app's average CPU in cores and its RSS, and what each app's telemetry delivered in that
// window. Asserts nothing.
//
//   npm run bench:steady                            5 minutes, after 30 s of warm-up
//   BENCH_STEADY_SECONDS=60 npm run bench:steady    a quick run
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { columns } from '../../src/columns.js';
import { CHAIN } from '../../src/facts.js';
import { allApps } from '../apps/index.js';
import type { AppSpec } from '../harness/app-spec.js';
import { freePort, launchApp, type LaunchedApp } from '../harness/launcher.js';
import { startOtlpReceiver } from '../harness/otlp-receiver.js';
import { startProfileReceiver } from '../harness/profile-receiver.js';

const seconds = Number(process.env.BENCH_STEADY_SECONDS ?? 300);
const warmupSeconds = Number(process.env.BENCH_STEADY_WARMUP_SECONDS ?? 30);
const rssEveryMs = 5_000;
/** Linux's USER_HZ, the unit of utime/stime in /proc/<pid>/stat (100 on every mainstream architecture). */
const TICKS_PER_SECOND = 100;

/** CPU seconds used so far by every live process of the app's process group (the launcher starts each app in its own). */
function groupCpuSeconds(pgid: number): number {
  let ticks = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // fields after the parenthesised command name: state ppid pgrp ... utime(14) stime(15)
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === pgid) ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks / TICKS_PER_SECOND;
}

/** Resident memory of the app's process group, in MiB. */
function groupRssMiB(pgid: number): number {
  let kib = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]) !== pgid) continue;
      kib += Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${entry}/status`, 'utf8'))?.[1] ?? 0);
    } catch {
      continue;
    }
  }
  return kib / 1024;
}

async function main(): Promise<void> {
  const otlp = await startOtlpReceiver();
  const profiles = await startProfileReceiver();
  // compose's chain order, last first, so that each app's next hop is up before it starts calling it
  const specs = CHAIN.map((service) => allApps.find((a) => a.service === service)).filter((a): a is AppSpec => a !== undefined);
  const running: { spec: AppSpec; app: LaunchedApp }[] = [];
  try {
    let next: string | undefined;
    for (const spec of [...specs].reverse()) {
      await spec.prepare();
      const port = await freePort();
      const app = await launchApp({
        ...spec.launch({ port, otlpUrl: otlp.url, pyroscopeUrl: profiles.url, deployed: true, ...(next ? { nextServiceUrl: next } : {}) }),
        timeoutMs: 600_000, // a loaded machine can take minutes to start the JVM
      });
      running.unshift({ spec, app });
      next = `http://127.0.0.1:${port}`;
    }
    console.error(`all ${running.length} apps up; warming up for ${warmupSeconds} s, then measuring for ${seconds} s`);
    await sleep(warmupSeconds * 1000);

    const t0 = performance.now();
    const cpu0 = running.map((r) => groupCpuSeconds(r.app.pid));
    const self0 = process.cpuUsage();
    const counts0 = running.map((r) => delivered(r.spec.service));
    const rss = running.map(() => [] as number[]);
    while (performance.now() - t0 < seconds * 1000) {
      running.forEach((r, i) => rss[i]!.push(groupRssMiB(r.app.pid)));
      await sleep(Math.min(rssEveryMs, seconds * 1000 - (performance.now() - t0)));
    }
    const wall = (performance.now() - t0) / 1000;
    const self = process.cpuUsage(self0);

    const rows = [['service', 'CPU cores (avg)', 'RSS MiB avg', 'RSS MiB max', 'spans', 'logs', 'metric points', 'profiles']];
    let total = 0;
    running.forEach((r, i) => {
      const cores = (groupCpuSeconds(r.app.pid) - cpu0[i]!) / wall;
      total += cores;
      const n = delivered(r.spec.service);
      const d = (k: keyof typeof n): string => String(n[k] - counts0[i]![k]);
      const avg = rss[i]!.reduce((a, b) => a + b, 0) / rss[i]!.length;
      rows.push([r.spec.service, cores.toFixed(3), avg.toFixed(0), Math.max(...rss[i]!).toFixed(0), d('spans'), d('logs'), d('points'), d('profiles')]);
    });
    rows.push(['the four apps', total.toFixed(3), '', '', '', '', '', '']);
    rows.push(['receivers (this process)', ((self.user + self.system) / 1e6 / wall).toFixed(3), '', '', '', '', '', '']);
    console.log(`${running.length} apps with their default traffic, ${wall.toFixed(0)} s measured after ${warmupSeconds} s of warm-up; telemetry delivered in that window:\n`);
    console.log(columns(rows));
  } finally {
    for (const r of running) await r.app.stop();
    await otlp.close();
    await profiles.close();
  }

  /** What the receivers hold of one service so far. */
  function delivered(service: string): { spans: number; logs: number; points: number; profiles: number } {
    const of = (x: { resource: Record<string, unknown> }): boolean => x.resource['service.name'] === service;
    return {
      spans: otlp.spans().filter(of).length,
      logs: otlp.logs().filter(of).length,
      points: otlp.metrics().filter(of).reduce((n, m) => n + m.points.length, 0),
      profiles: profiles.profiles().filter((p) => p.service === service).length,
    };
  }
}

await main();
