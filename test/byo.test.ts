// A service of your own: the judgements of `lgtmp verify --service <name>` (src/verify/byo/judge.ts)
// on the recorded responses of Loki, Tempo, Prometheus and Pyroscope (test/fixtures/recorded, made by
// a plain OpenTelemetry Python SDK process playing the four names, so exactly "a user's service"),
// read through verify's own clients from the fixture server; the per-language hints and their links.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { parse as parseYaml } from 'yaml';

import { OTLP_ENDPOINT, PROFILES_ENDPOINT } from '../src/facts.js';
import { composeFile, readEnv, repoRoot } from '../src/project.js';
import * as judge from '../src/verify/byo/judge.js';
import { GUIDE, hint, README_SECTION, SDK_LANGUAGES } from '../src/verify/byo/hints.js';
import { LokiClient } from '../src/verify/loki.js';
import { renderTable, summarize } from '../src/verify/report.js';
import type { CheckResult } from '../src/verify/result.js';
import { verify } from '../src/verify/run.js';
import { PrometheusClient } from '../src/verify/prometheus.js';
import { DirectPyroscopeClient, topSelfFrames } from '../src/verify/pyroscope.js';
import { TempoClient } from '../src/verify/tempo.js';
import { fixtureIds, RECORDED_END_SEC, serveFixtureStack, type Fixture, type FixtureStack } from './verify/fixture-server.js';
import { provisioningVariant } from './verify/recorded-provisioning.js';

const ids = fixtureIds();
const END_MS = RECORDED_END_SEC * 1000;
const window = { startMs: END_MS - 30 * 60_000, endMs: END_MS };
const SVC = 'demo-app';
/** The provisioning the recordings were made with (the seed's logs query: see recorded-provisioning.ts). */
const recorded = provisioningVariant(() => {});
after(() => recorded.cleanup());

describe('the judgements for a service of your own, on the recorded responses', () => {
  let stack: FixtureStack;
  let spans: judge.SpanData[];
  let traces: Map<string, judge.SpanData[]>;
  const links = judge.provisionedLinks();
  before(async () => {
    stack = await serveFixtureStack();
    const tempo = new TempoClient(stack.tempo.url);
    spans = [];
    for (const id of [ids.slow, ids.chain]) spans.push(...(await tempo.trace(id))!.spans);
    traces = judge.tracesById(spans);
  });
  after(async () => stack.close());

  it('traces: the spans of demo-app, its SDK language python', () => {
    const r = judge.judgeTraces(SVC, spans);
    assert.equal(r.status, 'pass', r.evidence);
    assert.match(r.evidence, /telemetry\.sdk\.language=python/);
    assert.equal(judge.serviceLanguage(SVC, spans), 'python');
    assert.equal(judge.judgeTraces('my-app', spans).status, 'fail');
  });

  it('logs->trace: the derived field reads trace_id from structured metadata and the trace is in Tempo', async () => {
    const entries = await new LokiClient(stack.loki.url).queryRange(`{job="${SVC}"} |= "${ids.slow}"`, window, 10);
    const r = judge.judgeLogsToTrace(SVC, entries.map(judge.logFromLoki), traces, links.derivedField);
    assert.equal(r.status, 'pass', r.evidence);
    assert.match(r.evidence, new RegExp(`trace_id=${ids.slow}, in structured metadata trace_id and the line`));
  });

  it('logs->trace: a logs-bridge record (trace id only in metadata) passes and says so; no trace id at all fails with the Python logging hint', async () => {
    const [entry] = (await new LokiClient(stack.loki.url).queryRange(`{job="${SVC}"} |= "${ids.slow}"`, window, 10)).map(judge.logFromLoki);
    const bridged = { ...entry!, line: 'payment accepted' };
    const r = judge.judgeLogsToTrace(SVC, [bridged], traces, links.derivedField);
    assert.equal(r.status, 'pass', r.evidence);
    assert.match(r.evidence, /in structured metadata trace_id only \(a logs bridge; not in the line\)/);
    const { trace_id: _t, ...noTrace } = entry!.structuredMetadata;
    const { trace_id: _l, ...labels } = entry!.labels;
    const bare = judge.judgeLogsToTrace(SVC, [{ line: 'payment accepted', labels, structuredMetadata: noTrace }], traces, links.derivedField, 'python');
    assert.equal(bare.status, 'fail');
    assert.match(bare.cause!, /opentelemetry-instrumentation-logging/);
    assert.ok(bare.cause!.includes(GUIDE.python), bare.cause);
  });

  it('trace->logs: the provisioned query on the longest SERVER span (GET /slow) returns lines of its trace', async () => {
    const span = judge.pickServerSpan(SVC, spans)!;
    assert.equal(span.traceId, ids.slow);
    const q = `{job="${SVC}"} |= "${ids.slow}"`;
    const entries = await new LokiClient(stack.loki.url).queryRange(q, window, 10);
    const r = judge.judgeTraceToLogs(SVC, span, links.tracesToLogs, entries.map(judge.logFromLoki));
    assert.equal(r.status, 'pass', r.evidence);
    assert.ok(r.evidence.includes(`-> 1 line(s) of trace ${ids.slow}, trace id in the line`), r.evidence);
  });

  it('job-tag: the spans carry job="demo-app"; a span without it fails with what adds it', () => {
    assert.equal(judge.judgeJobTag(SVC, spans).status, 'pass');
    const stripped = spans.map((s) => ({ ...s, resource: Object.fromEntries(Object.entries(s.resource).filter(([k]) => k !== 'job')) }));
    const r = judge.judgeJobTag(SVC, stripped, 'python');
    assert.equal(r.status, 'fail');
    assert.match(r.cause!, /Alloy/);
  });

  it('red-metrics and span-metrics: demo-app\'s request rate by route, and its span metrics', async () => {
    const prom = new PrometheusClient(stack.prometheus.url);
    const q = judge.redMetricsQuery(SVC);
    const red = judge.judgeRedMetrics(SVC, q, await prom.query(q));
    assert.equal(red.status, 'pass', red.evidence);
    assert.match(red.evidence, /\/slow/);
    const calls = await prom.query('traces_spanmetrics_calls_total');
    assert.equal(judge.judgeSpanMetrics(SVC, calls).status, 'pass');
    assert.equal(judge.judgeSpanMetrics('my-app', calls).status, 'fail');
  });

  it('exemplar->trace: an exemplar\'s trace_id is a trace; an SDK that records none (Node) is not set up, others fail', async () => {
    const series = await new PrometheusClient(stack.prometheus.url).exemplars(judge.exemplarQuery(SVC), window.startMs, window.endMs);
    const r = judge.judgeExemplars(SVC, series, traces);
    assert.equal(r.status, 'pass', r.evidence);
    assert.match(r.evidence, new RegExp(`trace_id=(${ids.chain}|${ids.slow}) -> trace`));
    const none = judge.judgeExemplars(SVC, [], traces, 'nodejs');
    assert.equal(none.status, 'not set up');
    assert.match(none.cause!, /opentelemetry-js #2594/);
    assert.equal(judge.judgeExemplars(SVC, [], traces, 'go').status, 'fail');
  });

  it('trace->profile: the /slow span\'s flame graph under the provisioned type is checkEmail; no profiles at all is not set up', async () => {
    const pyro = new DirectPyroscopeClient(stack.pyroscope.url);
    const span = judge.pickProfiledSpan(SVC, spans)!;
    assert.equal(span.spanId, ids.slow_profile_id);
    const q = judge.spanProfileQuery(span, links.tracesToProfiles!);
    const fg = await pyro.flameGraph({ profileTypeId: q.profileTypeId, labelSelector: q.labelSelector, spanSelector: q.spanSelector, startMs: window.startMs, endMs: window.endMs, maxNodes: 64 });
    const sendsProfiles = (await pyro.labelValues('service_name', window.startMs, window.endMs)).includes(SVC);
    const r = judge.judgeSpanProfile(SVC, { spans, sendsProfiles, flame: { spanId: span.spanId, profileTypeId: q.profileTypeId, total: fg.total, top: topSelfFrames(fg, 3) } });
    assert.equal(r.status, 'pass', r.evidence);
    assert.match(r.evidence, new RegExp(`pyroscope.profile.id=${ids.slow_profile_id} -> process_cpu:cpu:nanoseconds:cpu:nanoseconds, total \\d+; top self frames: checkEmail 100%`));
    // python-demo-app sent no profiles in this recording, and none of its spans has a profile id
    const unprofiled = spans.map((s) => ({ ...s, attributes: Object.fromEntries(Object.entries(s.attributes).filter(([k]) => k !== 'pyroscope.profile.id')) }));
    const py = judge.judgeSpanProfile('python-demo-app', { spans: unprofiled, sendsProfiles: false });
    assert.equal(py.status, 'not set up', py.evidence);
    assert.match(py.cause!, /pyroscope-io/);
    assert.match(py.cause!, /pyroscope-otel/);
  });

  it('service-graph: demo-app\'s edges (called by node-demo-app, calls java-demo-app); a lone service is not set up', async () => {
    const edges = (await new PrometheusClient(stack.prometheus.url).query('traces_service_graph_request_total')).map((s) => ({ client: s.metric['client']!, server: s.metric['server']! }));
    const r = judge.judgeServiceGraph(SVC, edges, spans);
    assert.equal(r.status, 'pass', r.evidence);
    assert.equal(r.evidence, 'edges: demo-app -> java-demo-app, node-demo-app -> demo-app');
    const slowOnly = traces.get(ids.slow)!;
    const lone = judge.judgeServiceGraph(SVC, [], slowOnly, 'python');
    assert.equal(lone.status, 'not set up');
    assert.match(lone.cause!, /opentelemetry-instrumentation-requests/);
    assert.equal(judge.judgeServiceGraph(SVC, [], spans).status, 'fail', 'the chain trace shows calls, so no edge is a failure');
  });
});

describe('the per-language hints', () => {
  const anchors = (file: string) =>
    new Set(
      readFileSync(join(repoRoot, file), 'utf8')
        .split('\n')
        .filter((l) => /^#{1,4} /.test(l))
        .map((l) => l.replace(/^#+ /, '').trim().toLowerCase().replace(/[^\w\- ]/g, '').replace(/ /g, '-')),
    );
  it('every link names a heading that exists (README and docs/instrument-your-app.md)', () => {
    for (const link of [README_SECTION, ...Object.values(GUIDE)]) {
      const [file, anchor] = link.split('#') as [string, string];
      assert.ok(anchors(file).has(anchor), `${file} has no heading #${anchor}`);
    }
  });
  it('each language names its own packages, and an unknown language falls back to the env vars', () => {
    assert.match(hint('logs', 'go'), /otelslog/);
    assert.match(hint('profiles', 'java'), /io\.pyroscope:otel/);
    assert.match(hint('logs', 'nodejs'), /pino/);
    assert.match(hint('profiles', 'nodejs'), /@pyroscope\/nodejs/);
    assert.match(hint('traces', undefined), /OTEL_EXPORTER_OTLP_ENDPOINT=http:\/\/alloy:4318/);
    for (const l of SDK_LANGUAGES) assert.ok(hint('traces', l).startsWith(`${l}: `));
  });
});

/** The generic checks whose requests the recordings answer (all but service-graph). */
const RECORDED_CHECKS = ['traces', 'logs->trace', 'trace->logs', 'job-tag', 'span-metrics', 'red-metrics', 'exemplar->trace', 'trace->profile'];
const show = (results: CheckResult[]) => renderTable(results, { links: false, width: 160 });
const byCheck = (results: CheckResult[]) => Object.fromEntries(results.map((r) => [r.check, r]));

describe('verify --service <your service>: the generic checks on the recorded responses', () => {
  let stack: FixtureStack;
  let rows: Record<string, CheckResult>;
  let all: CheckResult[];
  before(async () => {
    stack = await serveFixtureStack();
    // the recordings' demo-app is a plain OpenTelemetry Python SDK process: what a service of your own sends
    // service-graph asks Grafana's own windowed query, which the recordings lack: proved on the Prometheus peer (verify-peer.test.ts)
    all = await verify({ direct: true, ...stack.urls, nowMs: END_MS, provisioningFile: recorded.file, services: [SVC], generic: true, checks: RECORDED_CHECKS });
    rows = byCheck(all.filter((r) => r.service === SVC));
  });
  after(async () => stack.close());

  it('runs the generic set (no demo route assumed), and each link passes on data', () => {
    assert.deepEqual(Object.keys(rows), RECORDED_CHECKS);
    for (const r of Object.values(rows)) assert.equal(r.status, 'pass', show([r]));
    assert.match(rows['traces']!.evidence, /^\d+ spans in 2 traces, 2 SERVER \(GET \/chain, GET \/slow\); telemetry\.sdk\.language=python$/);
    assert.match(rows['logs->trace']!.evidence, new RegExp(`trace_id=${ids.slow}, in structured metadata trace_id and the line -> trace of 2 spans$`));
    assert.ok(rows['trace->logs']!.evidence.startsWith(`span GET /slow (${ids.slow_profile_id}) -> \`{job="demo-app"} |= "${ids.slow}"\` -> 1 line(s) of trace ${ids.slow}`), rows['trace->logs']!.evidence);
    assert.equal(rows['job-tag']!.evidence, 'spans carry job="demo-app"');
    assert.match(rows['red-metrics']!.evidence, /4 series \(\/alloc \/chain \/hello \/slow\)$/);
    assert.match(rows['exemplar->trace']!.evidence, new RegExp(`trace_id=${ids.chain} -> trace of 7 spans$`));
    assert.match(rows['trace->profile']!.evidence, new RegExp(`pyroscope.profile.id=${ids.slow_profile_id} -> process_cpu:cpu:nanoseconds:cpu:nanoseconds, total \\d+; top self frames: checkEmail 100%$`));
    assert.ok(rows['trace->profile']!.link.includes('/explore?'), rows['trace->profile']!.link);
  });

  it('README shows this very output, the stack\'s network and the addresses of .env', () => {
    const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Bring your own service'), readme.indexOf('\n## ', readme.indexOf('## Bring your own service') + 3));
    const table = renderTable(all.filter((r) => r.service === SVC), { links: false, width: 100 });
    assert.ok(section.includes('```\n' + table + '\n```'), `README's output is not what the checks print now:\n${table}`);
    const env = readEnv();
    for (const url of [OTLP_ENDPOINT, PROFILES_ENDPOINT, `http://localhost:${env['ALLOY_OTLP_HTTP_PORT']}`, `http://localhost:${env['ALLOY_PROFILES_PORT']}`]) assert.ok(section.includes(url), url);
    const project = (parseYaml(readFileSync(composeFile, 'utf8')) as { name: string }).name;
    assert.ok(section.includes(`\`${project}_default\``), 'the network Compose gives the project');
  });

  it('a service that sends no profiles: trace->profile is "not set up" with the Python packages to add, and the run still exits 0', async () => {
    // the same recordings with Pyroscope knowing no demo-app and the spans without pyroscope.profile.id
    const noProfiles = (f: Fixture): Fixture => {
      if (f.file === 'pyroscope/label-values-service.json') f.response = { names: (f.response as { names: string[] }).names.filter((n) => n !== SVC) };
      if (f.component === 'tempo') f.response = JSON.parse(JSON.stringify(f.response).replace(/\{"key":"pyroscope\.profile\.id","value":\{"stringValue":"[0-9a-f]+"\}\},?/g, ''));
      return f;
    };
    const variant = await serveFixtureStack(noProfiles);
    try {
      const results = await verify({ direct: true, ...variant.urls, nowMs: END_MS, provisioningFile: recorded.file, services: [SVC], generic: true, checks: RECORDED_CHECKS });
      const r = byCheck(results.filter((x) => x.service === SVC))['trace->profile']!;
      assert.equal(r.status, 'not set up', show([r]));
      assert.equal(r.evidence, 'no profiles of demo-app and no span with pyroscope.profile.id');
      assert.match(r.cause!, /^python: pyroscope-io .*; then python: pyroscope-otel: PyroscopeSpanProcessor/);
      assert.ok(r.cause!.includes('docs/instrument-your-app.md#instrument-your-own-python-app'), r.cause);
      const s = summarize(results);
      assert.equal(s.notSetUp, 1);
      assert.equal(s.ok, true, 'not set up is no failure');
      assert.match(show(results), /7 passed, 0 failed, 0 not reachable, 1 not set up: every link the service sends data for works/);
    } finally {
      await variant.close();
    }
  });

  it('a failing link names the missing piece for the service\'s language (logs without trace context: Python logging)', async () => {
    // the same log records as a service would send them without trace context: no trace_id in metadata or line
    type Streams = { data?: { result?: Array<{ stream: Record<string, string>; values: Array<[string, string, { structuredMetadata?: Record<string, string> }?]> }> } };
    const noTraceContext = (f: Fixture): Fixture => {
      for (const r of (f.component === 'loki' ? (f.response as Streams).data?.result : undefined) ?? []) {
        if (!r.stream) continue; // a metric query's result
        delete r.stream['trace_id'];
        for (const v of r.values) {
          v[1] = v[1].replace(/"?trace_id"?[=:]\s*"?[0-9a-f]{32}"?,?/g, '');
          delete v[2]?.structuredMetadata?.['trace_id'];
        }
      }
      return f;
    };
    const variant = await serveFixtureStack(noTraceContext);
    try {
      const results = await verify({ direct: true, ...variant.urls, nowMs: END_MS, provisioningFile: recorded.file, services: [SVC], generic: true, checks: ['logs->trace'] });
      const r = results.find((x) => x.check === 'logs->trace')!;
      assert.equal(r.status, 'fail', show([r]));
      assert.match(r.evidence, /log lines, none with a trace id for derived field "TraceID" \(label trace_id\)/);
      assert.match(r.cause!, /^python: opentelemetry-instrumentation-logging/);
      assert.equal(summarize(results).ok, false);
    } finally {
      await variant.close();
    }
  });

  it('logs under service_name but not under job: the logs row blames the missing job, not the logs', async () => {
    // Loki's answers as they would be for logs sent past Alloy: nothing under job; the recorded streams carry
    // service_name="demo-app" too, so they are what {service_name="demo-app"} returns
    const noJob = (f: Fixture): Fixture => {
      if (f.component !== 'loki' || !f.request.params['query']?.startsWith(`{job="${SVC}"}`)) return f;
      if (f.file === 'loki/query-range-job-categorized.json') {
        f.request.params['query'] = `{service_name="${SVC}"}`;
        return f;
      }
      (f.response as { data: { result: unknown[] } }).data.result = [];
      return f;
    };
    const variant = await serveFixtureStack(noJob);
    try {
      const results = await verify({ direct: true, ...variant.urls, nowMs: END_MS, provisioningFile: recorded.file, services: [SVC], generic: true, checks: ['logs->trace'] });
      const r = results.find((x) => x.check === 'logs->trace')!;
      assert.equal(r.status, 'fail', show([r]));
      assert.equal(r.evidence, `{job="${SVC}"}: no lines, but {service_name="${SVC}"} has some`);
      assert.match(r.cause!, /^python: send through Alloy/);
    } finally {
      await variant.close();
    }
  });

  it('an unknown service: one line naming the services the stack has seen, exit 1, no stack trace', async () => {
    const cli = join(repoRoot, 'dist', 'src', 'cli.js');
    const args = ['verify', '--direct', '--service', 'my-app', '--now', String(RECORDED_END_SEC), '--loki-url', stack.urls.lokiUrl, '--tempo-url', stack.urls.tempoUrl, '--prometheus-url', stack.urls.prometheusUrl, '--pyroscope-url', stack.urls.pyroscopeUrl, '--provisioning', recorded.file];
    const r = await promisify(execFile)(process.execPath, [cli, ...args]).then(
      () => assert.fail('expected exit 1'),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.equal(
      r.stderr,
      'lgtmp verify: no backend has seen "my-app" in the last 30m (Tempo, Loki, Mimir, Pyroscope); services seen: demo-app, java-demo-app, node-demo-app, pyrotest, pyrotest2, python-demo-app\n',
    );
    // --wait waits for a service started just now, then says the same
    const waited = await promisify(execFile)(process.execPath, [cli, ...args, '--wait', '1s']).then(
      () => assert.fail('expected exit 1'),
      (e: { code: number; stderr: string }) => e,
    );
    assert.equal(waited.code, 1);
    assert.match(waited.stderr, /^waiting: no backend has seen "my-app" in the last 30m .*; 1 s left\n(.*\n)*lgtmp verify: no backend has seen "my-app"/);
  });
});
