// A service of your own: the judgements of `lgtmp verify --service <name>` (src/verify/byo/judge.ts)
// on the recorded responses of Loki, Tempo, Prometheus and Pyroscope (test/fixtures/recorded, made by
// a plain OpenTelemetry Python SDK process playing the four names, so exactly "a user's service"),
// read through verify's own clients from the fixture server; the per-language hints and their links.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { repoRoot } from '../src/project.js';
import * as judge from '../src/verify/byo/judge.js';
import { GUIDE, hint, README_SECTION, SDK_LANGUAGES } from '../src/verify/byo/hints.js';
import { LokiClient } from '../src/verify/loki.js';
import { PrometheusClient } from '../src/verify/prometheus.js';
import { DirectPyroscopeClient, topSelfFrames } from '../src/verify/pyroscope.js';
import { TempoClient } from '../src/verify/tempo.js';
import { fixtureIds, RECORDED_END_SEC, serveFixtureStack, type FixtureStack } from './verify/fixture-server.js';

const ids = fixtureIds();
const END_MS = RECORDED_END_SEC * 1000;
const window = { startMs: END_MS - 30 * 60_000, endMs: END_MS };
const SVC = 'demo-app';

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
    assert.equal(judge.judgeJobTag(SVC, stripped.map(judge.throughAlloy)).status, 'pass', 'Alloy copies service.name into job');
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

  it('logFromOtlp: an OTLP record as Loki keeps it (trace context as structured metadata, job and service_name as labels)', () => {
    const rec = judge.throughAlloy({ traceId: ids.slow, spanId: ids.slow_profile_id, body: 'payment accepted', attributes: { 'code.function.name': 'pay' }, resource: { 'service.name': 'my-app' } });
    assert.deepEqual(judge.logFromOtlp(rec), {
      line: 'payment accepted',
      labels: { job: 'my-app', service_name: 'my-app' },
      structuredMetadata: { code_function_name: 'pay', trace_id: ids.slow, span_id: ids.slow_profile_id },
    });
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
