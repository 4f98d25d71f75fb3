// `lgtmp verify --direct` and the fix of `lgtmp tour slow` against the real Prometheus 3 peer fed by
// the real Go demo app (started as users run it, OTLP to the harness receiver, which forwards
// metrics to Prometheus). Loki, Tempo and Pyroscope are absent here: the checks that need them
// must say "unreachable". Also measures how long each signal takes from emission to queryable.
// LGTMP_APPS (as in apps.test.ts) must include go, or be unset, for this test to run the app.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse, stringify } from 'yaml';

import type { CheckResult } from '../src/verify/checks.js';
import { createContext, defaultProvisioningFile, verify } from '../src/verify/run.js';
import { renderTable } from '../src/verify/report.js';
import { setRegexMode, SYMPTOMS } from '../src/verify/tour-symptoms.js';
import { goApp } from './apps/go.js';
import { startAppWithPeers, type AppWithPeers } from './harness/app-with-peers.js';
import { freePort, waitFor } from './harness/launcher.js';
import type { OtlpReceiver } from './harness/otlp-receiver.js';
import { startPrometheus, type PrometheusPeer } from './harness/prometheus.js';
import { loadFixtures, RECORDED_END_SEC, serveFixtures, type FixtureServer } from './verify/fixture-server.js';

const wanted = (process.env['LGTMP_APPS'] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
const skip = wanted.length > 0 && !wanted.includes('go') ? 'LGTMP_APPS excludes go' : false;


async function get(url: string): Promise<number> {
  const res = await fetch(url, { signal: AbortSignal.timeout(120_000) });
  await res.text();
  return res.status;
}

const show = (r: CheckResult[]) => renderTable(r, { links: false, width: 160 });

/**
 * Span metrics and service-graph counters as Tempo 3.0.3's metrics-generator wrote them (recorded in the fixtures), replayed
 * into the peer over OTLP at the current time: traces_spanmetrics_calls_total with the recorded
 * label sets and counts, and traces_spanmetrics_latency with the recorded bucket bounds (powers of
 * two from 2 ms, as the recorded `le` labels show) filled with the latency observations recorded
 * as the generator's exemplars. Two points 30 s apart so rate() has an increase.
 */
async function replaySpanMetrics(peer: PrometheusPeer): Promise<void> {
  const fx = loadFixtures();
  const calls = (fx.find((f) => f.file === 'prometheus/query-spanmetrics-calls.json')!.response as { data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } }).data.result;
  const graph = (fx.find((f) => f.file === 'prometheus/query-service-graph.json')!.response as { data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } }).data.result;
  const ex = (fx.find((f) => f.file === 'prometheus/exemplars-spanmetrics.json')!.response as { data: Array<{ seriesLabels: Record<string, string>; exemplars: Array<{ value: string }> }> }).data;
  const bounds = Array.from({ length: 12 }, (_, i) => 2 ** (i + 1) / 1000);
  const now = BigInt(Date.now()) * 1_000_000n;
  const t0 = now - 30_000_000_000n;
  const start = now - 60_000_000_000n;
  const attrs = (m: Record<string, string>) =>
    Object.entries(m)
      .filter(([k]) => !k.startsWith('__') && k !== 'le')
      .map(([key, v]) => ({ key, value: { stringValue: v } }));
  const histos = new Map<string, { labels: Record<string, string>; values: number[] }>();
  for (const s of ex) {
    const key = JSON.stringify(attrs(s.seriesLabels));
    const h = histos.get(key) ?? { labels: s.seriesLabels, values: [] };
    h.values.push(...s.exemplars.map((e) => Number(e.value)));
    histos.set(key, h);
  }
  const bucketCounts = (values: number[]) => {
    const c = new Array<number>(bounds.length + 1).fill(0);
    for (const v of values) {
      const i = bounds.findIndex((b) => v <= b);
      c[i < 0 ? bounds.length : i]!++;
    }
    return c.map(String);
  };
  const body = {
    resourceMetrics: [
      {
        resource: { attributes: [] },
        scopeMetrics: [
          {
            scope: { name: 'replay-of-recorded-tempo-span-metrics' },
            metrics: [
              {
                name: 'traces_spanmetrics_calls',
                sum: {
                  aggregationTemporality: 2,
                  isMonotonic: true,
                  dataPoints: calls.flatMap((c) => [
                    { attributes: attrs(c.metric), startTimeUnixNano: String(start), timeUnixNano: String(t0), asDouble: 0 },
                    { attributes: attrs(c.metric), startTimeUnixNano: String(start), timeUnixNano: String(now), asDouble: Number(c.value[1]) },
                  ]),
                },
              },
              {
                name: 'traces_service_graph_request',
                sum: {
                  aggregationTemporality: 2,
                  isMonotonic: true,
                  dataPoints: graph.flatMap((c) => [
                    { attributes: attrs(c.metric), startTimeUnixNano: String(start), timeUnixNano: String(t0), asDouble: 0 },
                    { attributes: attrs(c.metric), startTimeUnixNano: String(start), timeUnixNano: String(now), asDouble: Number(c.value[1]) },
                  ]),
                },
              },
              {
                name: 'traces_spanmetrics_latency',
                histogram: {
                  aggregationTemporality: 2,
                  dataPoints: [...histos.values()].flatMap((h) => [
                    { attributes: attrs(h.labels), startTimeUnixNano: String(start), timeUnixNano: String(t0), count: '0', sum: 0, explicitBounds: bounds, bucketCounts: bounds.map(() => '0').concat('0') },
                    { attributes: attrs(h.labels), startTimeUnixNano: String(start), timeUnixNano: String(now), count: String(h.values.length), sum: h.values.reduce((a, b) => a + b, 0), explicitBounds: bounds, bucketCounts: bucketCounts(h.values) },
                  ]),
                },
              },
            ],
          },
        ],
      },
    ],
  };
  const res = await fetch(`${peer.url}/api/v1/otlp/v1/metrics`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  assert.equal(res.status, 200, await res.text());
}

describe('verify --direct against the Prometheus peer fed by the Go demo app', { skip }, () => {
  let peers: AppWithPeers;
  let peer: PrometheusPeer;
  let otlp: OtlpReceiver;
  let appUrl: string;
  let closed: string;
  const latency: Record<string, number> = {};

  /**
   * Until the requests made so far are in Prometheus: two more metric exports forwarded (the first
   * may have been collected before the last request finished).
   */
  const exportedAfterwards = async () => {
    const n = otlp.forwardedCount();
    await waitFor(`two metric exports of the Go app forwarded to Prometheus after export #${n}`, () => (otlp.forwardedCount() >= n + 2 ? true : undefined), 30_000, 50);
  };

  before(async () => {
    peers = await startAppWithPeers(goApp);
    ({ prom: peer, otlp, base: appUrl } = peers);
    closed = `http://127.0.0.1:${await freePort()}`;
  });
  after(async () => {
    await peers?.close();
    const lines = Object.entries(latency).map(([k, v]) => `  ${k}: ${(v / 1000).toFixed(1)} s`);
    if (lines.length) console.log(`[verify-peer] emission -> queryable, Go app (OTEL_METRIC_EXPORT_INTERVAL=2000, OTEL_BSP/BLRP_SCHEDULE_DELAY=500):\n${lines.join('\n')}`);
  });

  it('measures emission -> queryable for each signal', async () => {
    const n = 5;
    const sent = Date.now();
    for (let i = 0; i < n; i++) assert.equal(await get(`${appUrl}/hello`), 200);
    const done = Date.now();
    const hello = () => otlp.spans().filter((s) => s.name === 'GET /hello' || s.attributes['http.route'] === '/hello');
    await waitFor('5 /hello spans at the OTLP receiver', () => (hello().length >= n ? true : undefined), 30_000, 50);
    latency['trace span at the OTLP receiver'] = Date.now() - done;
    await waitFor('5 /hello request logs at the OTLP receiver', () => (otlp.logs().filter((l) => JSON.stringify(l.body).includes('/hello')).length >= n ? true : undefined), 30_000, 50);
    latency['request log at the OTLP receiver'] = Date.now() - done;
    await waitFor(
      'the 5 /hello requests counted in Prometheus',
      async () => ((await peer.query('sum(http_server_request_duration_seconds_count{job="demo-app", http_route="/hello"})'))[0]?.value[1] === String(n) ? true : undefined),
      60_000,
      100,
    );
    latency['metric point queryable in Prometheus (OTLP receiver -> /api/v1/otlp)'] = Date.now() - done;
    const traceIds = new Set(hello().map((s) => s.traceId));
    await waitFor(
      'an exemplar of a /hello trace in Prometheus',
      async () => {
        const ex = await peer.exemplars('http_server_request_duration_seconds_bucket{job="demo-app", http_route="/hello"}', Math.floor(sent / 1000) - 1, Math.ceil(Date.now() / 1000) + 1);
        return ex.some((s) => s.exemplars.some((e) => traceIds.has(e.labels['trace_id'] ?? ''))) ? true : undefined;
      },
      60_000,
      100,
    );
    latency['exemplar queryable in Prometheus'] = Date.now() - done;
    latency['rate() over [5m] has two points (needs a second export)'] = (await waitFor(
      'rate() of /hello > 0',
      async () => ((await peer.query('sum(rate(http_server_request_duration_seconds_count{job="demo-app", http_route="/hello"}[5m]))'))[0] ? Date.now() - done : undefined),
      60_000,
      100,
    ));
  });

  it('passes seed-promql and exemplars, reports every check that needs Loki, Tempo or Pyroscope as unreachable', async () => {
    // rate() sees an increase only between two exports of a series: traffic on both sides of one
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 2; i++) assert.equal(await get(`${appUrl}/slow${goApp.slow.query}`), 200);
      assert.equal(await get(`${appUrl}/hello?fail=true`), 500);
      await exportedAfterwards();
    }
    const opts = { direct: true, prometheusUrl: peer.url, lokiUrl: closed, tempoUrl: closed, pyroscopeUrl: closed, services: ['demo-app'] };
    await verify({ ...opts, checks: ['seed-promql', 'exemplars'], waitMs: 20_000 }); // until the data is there
    const results = await verify(opts);
    const by = Object.fromEntries(results.map((r) => [r.check, r]));
    assert.equal(by['seed-promql']!.status, 'pass', show(results));
    assert.match(by['seed-promql']!.evidence, /p95 \/slow \d+\.\d+ s/);
    assert.match(by['seed-promql']!.evidence, /\/hello/);
    assert.match(by['seed-promql']!.evidence, /5xx ratio 0\.\d{3}$/);
    assert.equal(by['exemplars']!.status, 'pass', show(results));
    // the exemplar's trace id is a real span the app sent
    const id = /newest ([0-9a-f]{32})/.exec(by['exemplars']!.evidence)![1]!;
    assert.ok(otlp.spans().some((s) => s.traceId === id), `exemplar trace ${id} is a span the app exported`);
    for (const r of results.filter((x) => !['seed-promql', 'exemplars'].includes(x.check))) {
      assert.equal(r.status, 'unreachable', show([r]));
    }
    console.log(`[verify-peer] lgtmp verify --direct against the peer:\n${show(results)}`);
  });

  it('the CPU/latency fix of tour slow: /slow p95 drops after POST /admin/regex?mode=fixed', async () => {
    const { ctx } = await createContext({ direct: true, prometheusUrl: peer.url, lokiUrl: closed, tempoUrl: closed, pyroscopeUrl: closed });
    const windowMs = 20_000;
    // before: the bad regex
    const until = Date.now() + windowMs / 2;
    while (Date.now() < until) assert.equal(await get(`${appUrl}/slow${goApp.slow.query}`), 200);
    await exportedAfterwards();
    const fixAt = Date.now();
    const p95 = SYMPTOMS.slow.measures[0]!; // /slow p95 (Mimir)
    const regexShare = SYMPTOMS.slow.measures[1]!; // the regex work's CPU share (Pyroscope)
    const before = await p95.read(ctx, 'demo-app', '/slow', windowMs, fixAt);
    const fixed = await setRegexMode({ 'demo-app': appUrl }, 'fixed');
    assert.deepEqual(fixed.map((f) => [f.ok, f.mode]), [[true, 'fixed']]);
    try {
      while (Date.now() < fixAt + windowMs) assert.equal(await get(`${appUrl}/slow${goApp.slow.query}`), 200);
      await exportedAfterwards();
      const afterAt = Date.now();
      const after = await p95.read(ctx, 'demo-app', '/slow', afterAt - fixAt - 1000, afterAt);
      console.log(`[verify-peer] tour slow on the Go app: ${p95.label} ${before} s -> ${after} s`);
      assert.ok(before !== undefined && after !== undefined, JSON.stringify({ before, after }));
      assert.ok(after < before / 5, JSON.stringify({ before, after }));
      await assert.rejects(regexShare.read(ctx, 'demo-app', '/slow', windowMs, afterAt), /not reachable/);
    } finally {
      const back = await setRegexMode({ 'demo-app': appUrl }, 'bad');
      assert.equal(back[0]!.mode, 'bad');
    }
  });
});

describe('trace->metrics and service-graph with Grafana\'s queries on the Prometheus peer (recorded span metrics and service graph replayed)', () => {
  let peer: PrometheusPeer;
  let tempo: FixtureServer;
  let closed: string;
  const dir = mkdtempSync(join(tmpdir(), 'lgtmp-prov-'));
  before(async () => {
    peer = await startPrometheus();
    tempo = await serveFixtures({ component: 'tempo' });
    closed = `http://127.0.0.1:${await freePort()}`;
    await replaySpanMetrics(peer);
  });
  after(async () => {
    await tempo?.close();
    await peer?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const run = (provisioningFile?: string) =>
    verify({ direct: true, tempoUrl: tempo.url, prometheusUrl: peer.url, lokiUrl: closed, pyroscopeUrl: closed, nowMs: RECORDED_END_SEC * 1000, services: ['demo-app'], checks: ['trace->metrics'], provisioningFile });

  it('service-graph: Grafana\'s Service Graph query over the recorded edges (replayed) finds each edge of the chain', async () => {
    const results = await verify({ direct: true, tempoUrl: tempo.url, prometheusUrl: peer.url, lokiUrl: closed, pyroscopeUrl: closed, services: ['node-demo-app', 'demo-app', 'java-demo-app'], checks: ['service-graph'] });
    for (const r of results) {
      assert.equal(r.status, 'pass', show(results));
      assert.match(r.evidence, /^`sum by \(client, server\) \(rate\(traces_service_graph_request_total\[1800s\]\)\)`: edge [\w-]+ -> [\w-]+ at \d+\.\d{3} requests\/s$/);
    }
  });

  it('service-graph of a service of your own (the generic check, on demo-app): the edges to and from it in Grafana\'s query', async () => {
    const results = await verify({ direct: true, tempoUrl: tempo.url, prometheusUrl: peer.url, lokiUrl: closed, pyroscopeUrl: closed, services: ['demo-app'], checks: ['service-graph'], generic: true });
    assert.equal(results.length, 1);
    assert.equal(results[0]!.status, 'pass', show(results));
    assert.equal(results[0]!.evidence, 'edges: demo-app -> java-demo-app, node-demo-app -> demo-app');
  });

  it('each provisioned query returns series for the recorded /slow span', async () => {
    const [r] = await run();
    assert.equal(r!.status, 'pass', show([r!]));
    assert.equal(r!.evidence, 'span GET /slow -> Request rate of this operation: 1 series; Error rate of this operation: 0 series (no errors); p95 latency of this operation: 1 series');
  });

  it('a tags mapping to a label span metrics lack fails, naming the label', async () => {
    const doc = parse(readFileSync(defaultProvisioningFile(), 'utf8')) as { datasources: Array<{ uid: string; jsonData: Record<string, any> }> };
    doc.datasources.find((d) => d.uid === 'tempo')!.jsonData['tracesToMetrics'].tags = [{ key: 'service.name', value: 'service_name' }];
    const file = join(dir, 'datasources.yaml');
    writeFileSync(file, stringify(doc));
    const [r] = await run(file);
    assert.equal(r!.status, 'fail');
    assert.match(r!.cause!, /filters on label\(s\) service_name that span metrics don't have/);
  });
});

describe('red-metrics (any service but the demo apps, whose seed-promql shares the diagnosis) names the real reason a request rate is empty (real Prometheus peer, OTLP points pushed as the SDKs export them)', () => {
  let peer: PrometheusPeer;
  const closed = 'http://127.0.0.1:9';
  before(async () => {
    peer = await startPrometheus();
  });
  after(async () => peer?.close());

  /** Exports of http.server.request.duration (a cumulative histogram) by a service, one per entry of `points` (ms before now). */
  async function exportHistogram(resource: Record<string, string>, points: number[]): Promise<void> {
    const start = BigInt(Date.now() - 600_000) * 1_000_000n;
    const body = {
      resourceMetrics: [
        {
          resource: { attributes: Object.entries(resource).map(([key, v]) => ({ key, value: { stringValue: v } })) },
          scopeMetrics: [
            {
              scope: { name: 'verify-peer-test' },
              metrics: [
                {
                  name: 'http.server.request.duration',
                  unit: 's',
                  histogram: {
                    aggregationTemporality: 2,
                    dataPoints: points.map((agoMs, i) => ({
                      attributes: [{ key: 'http.route', value: { stringValue: '/slow' } }],
                      startTimeUnixNano: String(start),
                      timeUnixNano: String(BigInt(Date.now() - agoMs) * 1_000_000n),
                      count: String(i + 1),
                      sum: 2 * (i + 1),
                      explicitBounds: [1, 5],
                      bucketCounts: ['0', String(i + 1), '0'],
                    })),
                  },
                },
              ],
            },
          ],
        },
      ],
    };
    const res = await fetch(`${peer.url}/api/v1/otlp/v1/metrics`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    assert.equal(res.status, 200, await res.text());
  }
  const redMetrics = async (svc: string) => (await verify({ direct: true, prometheusUrl: peer.url, lokiUrl: closed, tempoUrl: closed, pyroscopeUrl: closed, services: [svc], checks: ['red-metrics'] }))[0]!;

  it('one export so far: the series are too young for rate(), and the cause says how long to wait (not a job problem)', async () => {
    await exportHistogram({ 'service.name': 'young-app' }, [10_000]);
    await waitFor('young-app\'s first point in Prometheus', async () => ((await peer.query('http_server_request_duration_seconds_count{job="young-app"}')).length > 0 ? true : undefined), 30_000, 100);
    const r = await redMetrics('young-app');
    assert.equal(r.status, 'fail', show([r]));
    assert.match(r.cause!, /^young-app's series exist but have 1 point\(s\) in the last 5m, and rate\(\) needs two: the app exports metrics every 60 s \(OTEL_METRIC_EXPORT_INTERVAL\), so the next point is due in about (4\d|5\d|60) s/);
    assert.doesNotMatch(r.cause!, /job/);
  });

  it('two exports: rate() has its increase and red-metrics passes', async () => {
    await exportHistogram({ 'service.name': 'steady-app' }, [70_000, 10_000]);
    await waitFor('steady-app\'s points in Prometheus', async () => ((await peer.query('count_over_time(http_server_request_duration_seconds_count{job="steady-app"}[5m])'))[0]?.value[1] === '2' ? true : undefined), 30_000, 100);
    const r = await redMetrics('steady-app');
    assert.equal(r.status, 'pass', show([r]));
  });

  it('the metric under another job (service.namespace set): blames the job derivation, naming the job', async () => {
    await exportHistogram({ 'service.name': 'ns-app', 'service.namespace': 'shop' }, [70_000, 10_000]);
    await waitFor('shop/ns-app in Prometheus', async () => ((await peer.query('http_server_request_duration_seconds_count{job="shop/ns-app"}')).length > 0 ? true : undefined), 30_000, 100);
    const r = await redMetrics('ns-app');
    assert.equal(r.status, 'fail', show([r]));
    assert.match(r.cause!, /stored under job="shop\/ns-app": Mimir derives job from service\.namespace\/service\.name/);
  });

  it('no series of the service at all: says it is not exporting, without blaming job', async () => {
    const r = await redMetrics('ghost-app');
    assert.equal(r.status, 'fail', show([r]));
    assert.match(r.cause!, /has no series of ghost-app in the last 5m \(jobs: .*young-app.*\): ghost-app isn't exporting metrics/);
  });
});
