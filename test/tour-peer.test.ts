// The tours on the real demo apps with their real fault switches and a real Prometheus 3 (Mimir's
// query engine and OTLP translation) fed by the app through the harness receiver: each tour turns
// its fault on through POST /admin/faults, its measure shows the fault in Prometheus, the fix turns
// it off and the measure comes back; the dashboards' Faults annotation query covers the time the
// switch was on. Loki, Tempo and Pyroscope cannot run here: the steps that read them must say
// "not reachable" (their logic is tested on recorded answers in tour.test.ts). The test plays the
// traffic generator (off in the harness): a request loop on the faulted route.
// LGTMP_APPS (as in apps.test.ts) selects the apps.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { faultsAnnotation } from '../dashboards/queries.js';
import { createContext } from '../src/verify/run.js';
import { notApplicable, runTour, type TourReport } from '../src/verify/tour.js';
import { liveClock, type TourStep } from '../src/verify/tour-steps.js';
import { BURN_CPU, cpuProfileType, SYMPTOMS, tourPromql, type TourName } from '../src/verify/tour-symptoms.js';
import type { VerifyContext } from '../src/verify/context.js';
import { selectedApps } from './apps/index.js';
import { startAppWithPeers, type AppWithPeers } from './harness/app-with-peers.js';
import { freePort, launchApp, waitFor, type LaunchedApp } from './harness/launcher.js';
import { frameShare, hottestFrames } from './harness/profile-receiver.js';
import { goApp } from './apps/go.js';

const MiB = 1024 * 1024;

/** What each tour's measure must show (values: ratio, seconds, bytes), and whether the fix must bring it back within the wait. */
const EXPECT: Array<{ tour: TourName; kind: string; path: string; during: (before: number, during: number) => boolean; recovers: boolean }> = [
  { tour: 'errors', kind: 'errors', path: '/hello', during: (_b, d) => d >= 0.2, recovers: true },
  { tour: 'timeout', kind: 'latency', path: '/hello', during: (_b, d) => d >= 1.5, recovers: true },
  { tour: 'cpu', kind: 'cpu', path: '/hello', during: (_b, d) => d >= 0.15, recovers: true },
  // a runtime does not give memory back on cue after the kept batches are freed: only the growth is asserted
  { tour: 'leak', kind: 'leak', path: '/alloc', during: (b, d) => b > 0 && d > b + 32 * MiB, recovers: false },
  // the next service of the chain is a real Go demo app, the cheapest to start (the service graph needs Tempo: not here)
  { tour: 'dependency', kind: 'dependency', path: '/chain', during: (_b, d) => d >= 0.2, recovers: true },
];

for (const spec of selectedApps()) describe(`the tours on the real ${spec.service} and a real Prometheus`, { timeout: 20 * 60_000 }, () => {
  let peers: AppWithPeers;
  let next: LaunchedApp | undefined;
  let ctx: VerifyContext;
  before(async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    // /alloc kept small per call (40 x 256 KiB): the leak grows by 10 MiB a request
    const env: Record<string, string> = { ALLOC_CHUNKS: '40' };
    if (!notApplicable(SYMPTOMS.dependency, spec.service)) {
      // the next service of the chain: a Go demo app of its own (its telemetry goes nowhere: not what is tested)
      await goApp.prepare();
      const nextPort = await freePort();
      next = await launchApp(goApp.launch({ port: nextPort, otlpUrl: closed, pyroscopeUrl: closed }));
      env['NEXT_SERVICE_URL'] = `http://127.0.0.1:${nextPort}`;
    }
    peers = await startAppWithPeers(spec, env);
    ({ ctx } = await createContext({ direct: true, prometheusUrl: peers.prom.url, lokiUrl: closed, tempoUrl: closed, pyroscopeUrl: closed }));
    // the leak tour's "before" is the app's memory before the switch: its first export
    await waitFor(`${spec.service}'s memory in Prometheus`, async () => ((await peers.prom.query(tourPromql.memory(spec.service))).length > 0 ? true : undefined), 60_000, 500);
  });
  after(async () => {
    await peers?.close();
    await next?.stop();
  });

  /** Requests on `path` until stopped, as the traffic generator would send them. */
  function traffic(path: string): () => Promise<void> {
    let on = true;
    const loop = (async () => {
      while (on) {
        const res = await fetch(`${peers.base}${path}`, { signal: AbortSignal.timeout(30_000) });
        await res.arrayBuffer();
      }
    })();
    return async () => {
      on = false;
      await loop;
    };
  }

  for (const e of EXPECT) {
    // python-demo-app is last on the chain: the tour itself refuses, and so the test says it did not run
    const skip = notApplicable(SYMPTOMS[e.tour], spec.service);
    it(`tour ${e.tour}: the ${e.kind} switch shows in "${SYMPTOMS[e.tour].measures[0]!.label}", the fix brings it back, the Faults annotation covers it`, { skip }, async () => {
      const stop = traffic(e.path);
      const t0 = Math.floor(Date.now() / 1000);
      let report: TourReport;
      const seen: TourStep[] = [];
      try {
        report = await runTour({
          symptom: SYMPTOMS[e.tour],
          svc: spec.service,
          apps: { [spec.service]: peers.base },
          ctx,
          clock: liveClock,
          waitMs: 8_000,
          deadlineMs: 60_000,
          minWindowMs: 6_000,
          faultFor: '5m',
          keep: false,
          noFix: false,
          onWait: () => {},
          onStep: (_n, st) => seen.push(st),
        });
      } finally {
        await stop();
      }
      const show = JSON.stringify(report.steps, null, 2);
      const [sw, symptom, firstWalk] = report.steps;
      assert.ok(sw?.ok, show);
      assert.match(sw.lines[0]!, new RegExp(`^${spec.service} answers: regex_mode=\\w+; ${e.kind} on \\(`), show);
      assert.ok(symptom?.ok, show);
      // the walk reads Loki, Tempo or Pyroscope, which are not here: said, not passed
      assert.equal(firstWalk?.ok, false, show);
      assert.match(firstWalk.lines.join(' '), /not reachable/, show);
      const fix = report.steps.find((s) => s.title.startsWith('The fix'))!;
      assert.ok(fix.ok, show);
      assert.match(fix.lines[0]!, /no fault on/, show);
      const m = report.measures[0]!;
      assert.ok(m.during !== undefined && e.during(m.before ?? 0, m.during), `${m.label}: before ${m.before}, during ${m.during}\n${show}`);
      if (e.recovers) {
        assert.ok(m.after !== undefined && m.after < m.during!, `${m.label}: during ${m.during}, after ${m.after}\n${show}`);
        assert.ok(report.steps.at(-1)!.ok, show);
      }
      assert.equal(report.ok, false, 'the walk could not be told without Loki/Tempo/Pyroscope');
      assert.deepEqual(seen, report.steps, 'every step was shown as it happened');
      console.log(`[tour-peer] ${spec.service} ${e.tour}: ${m.label}: before ${m.before} -> with the fault ${m.during} -> after ${m.after}`);

      if (e.tour === 'cpu') {
        // what the tour's Pyroscope steps ask for, checked on what this app uploaded: the profile type and the hot loop's frame
        const type = cpuProfileType(ctx);
        const samples = await waitFor(`a ${type} profile of ${spec.service} with a frame matching ${BURN_CPU.re}`, () => {
          const s = peers.profiles.profiles().filter((p) => p.service === spec.service && p.profileTypeId === type).flatMap((p) => p.samples);
          return s.some((x) => x.value > 0 && x.stack.some((f) => BURN_CPU.re.test(f))) ? s : undefined;
        }, 60_000, 1000);
        console.log(`[tour-peer] ${spec.service} cpu: ${BURN_CPU.re} in ${(frameShare(samples, BURN_CPU.re) * 100).toFixed(0)} % of ${type}; hottest ${JSON.stringify(hottestFrames(samples, 2))}`);
      }

      // the dashboards' Faults annotation: its PromQL had the switch's series while it was on, and not after
      const t1 = Math.ceil(Date.now() / 1000);
      const range = await fetch(`${peers.prom.url}/api/v1/query_range?${new URLSearchParams({ query: faultsAnnotation.expr, start: String(t0), end: String(t1), step: '1' })}`);
      const series = ((await range.json()) as { data: { result: Array<{ metric: Record<string, string>; values: Array<[number, string]> }> } }).data.result;
      const mine = series.filter((s) => s.metric['fault'] === e.kind && s.metric['job'] === spec.service);
      assert.equal(mine.length, 1, JSON.stringify(series));
      assert.ok(mine[0]!.values.every(([, v]) => v === '1'), 'Grafana turns samples above 0 into the region');
      const now = await peers.prom.query(faultsAnnotation.expr);
      assert.deepEqual(now.filter((s) => s.metric['fault'] === e.kind), [], 'no Faults region after the fix');
    });
  }
});
