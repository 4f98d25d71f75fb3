// Tests of the test harness itself: every receiver is fed by real upstream producers (OTel JS SDK exporters,
// the Pyroscope Java agent) or by payloads encoded with the official definitions, and Prometheus is the real one.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { context, trace, SpanKind, type Span } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { Function as PFunction, Label, Line, Location, Profile, Sample, StringTable, ValueType } from 'pprof-format';
import { alloyTransformConfig } from './harness/alloy-transform.js';
import { cacheDir, contentHash, populateAtomically, repoRoot, run } from './harness/cache.js';
import { ensureJfrDecoder } from './harness/jfr.js';
import { freePort, groupAlive, launchApp, makeTempDir, removeTempDir, waitFor } from './harness/launcher.js';
import { SPAN_KIND_SERVER, startOtlpReceiver, type OtlpReceiver } from './harness/otlp-receiver.js';
import { frameShare, hottestFrames, startProfileReceiver, type ProfileReceiver } from './harness/profile-receiver.js';
import { startPrometheus, type PrometheusPeer } from './harness/prometheus.js';
import { otlpRoot, pyroscopeRoot } from './harness/protos.js';

describe('OTLP receiver + Prometheus peer', { timeout: 30 * 60_000 }, () => {
  let prom: PrometheusPeer;
  let recv: OtlpReceiver;
  before(async () => {
    prom = await startPrometheus();
    recv = await startOtlpReceiver({ prometheusUrl: prom.url });
  }, { timeout: 30 * 60_000 });
  after(async () => {
    await recv?.close();
    await prom?.close();
  });

  let root: Span;
  let child: Span;

  it('decodes spans from the OTel JS SDK exporter (protobuf)', async () => {
    const resource = resourceFromAttributes({ 'service.name': 'harness-sdk', 'deployment.environment': 'test' });
    const tp = new BasicTracerProvider({ resource, spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporter({ url: `${recv.url}/v1/traces` }))] });
    const tracer = tp.getTracer('harness-scope');
    root = tracer.startSpan('GET /slow', { kind: SpanKind.SERVER, attributes: { 'http.route': '/slow', 'http.response.status_code': 200, ratio: 0.5, ok: true, tags: ['a', 'b'] } });
    root.setAttribute('pyroscope.profile.id', root.spanContext().spanId);
    const ctx = trace.setSpan(context.active(), root);
    child = tracer.startSpan('slow_business_logic', {}, ctx);
    await new Promise((r) => setTimeout(r, 30));
    child.end();
    root.setStatus({ code: 2, message: 'boom' });
    root.end();
    await tp.forceFlush();
    await tp.shutdown();

    const spans = await waitFor('2 spans', () => (recv.spans().length >= 2 ? recv.spans() : undefined), 10_000);
    const r = spans.find((s) => s.name === 'GET /slow');
    const c = spans.find((s) => s.name === 'slow_business_logic');
    assert.ok(r && c, recv.summary());
    assert.equal(r.traceId, root.spanContext().traceId);
    assert.equal(r.spanId, root.spanContext().spanId);
    assert.match(r.traceId, /^[0-9a-f]{32}$/);
    assert.equal(r.parentSpanId, '');
    assert.equal(r.kind, SPAN_KIND_SERVER);
    assert.equal(c.parentSpanId, r.spanId);
    assert.equal(c.traceId, r.traceId);
    assert.ok(c.durationMs >= 25 && c.durationMs < 5000, `child duration ${c.durationMs}`);
    assert.ok(r.durationMs >= c.durationMs);
    assert.equal(typeof r.startTimeUnixNano, 'bigint');
    assert.deepEqual(r.attributes, { 'http.route': '/slow', 'http.response.status_code': 200, ratio: 0.5, ok: true, tags: ['a', 'b'], 'pyroscope.profile.id': r.spanId });
    assert.equal(r.resource['service.name'], 'harness-sdk');
    assert.equal(r.scope, 'harness-scope');
    assert.deepEqual(r.status, { code: 2, message: 'boom' });
    assert.ok(recv.requests().every((q) => q.contentType === 'application/x-protobuf' && q.status === 200));
  });

  it('decodes logs with trace context from the OTel JS SDK exporter', async () => {
    const resource = resourceFromAttributes({ 'service.name': 'harness-sdk' });
    const lp = new LoggerProvider({ resource, processors: [new SimpleLogRecordProcessor({ exporter: new OTLPLogExporter({ url: `${recv.url}/v1/logs` }) })] });
    const logger = lp.getLogger('harness-logs');
    const ctx = trace.setSpan(context.active(), root);
    const body = { msg: `[ERROR] route=/slow method=GET status=500 duration_ms=12 trace_id=${root.spanContext().traceId} span_id=${root.spanContext().spanId}`, route: '/slow', duration_ms: 12, level: 'error' };
    logger.emit({ body: JSON.stringify(body), severityNumber: SeverityNumber.ERROR, severityText: 'ERROR', context: ctx, attributes: { 'http.route': '/slow' } });
    logger.emit({ body: { msg: 'map body', n: 3, nested: { k: 'v' } }, severityNumber: SeverityNumber.INFO, severityText: 'INFO' });
    await lp.forceFlush();
    await lp.shutdown();
    const logs = await waitFor('2 logs', () => (recv.logs().length >= 2 ? recv.logs() : undefined), 10_000);
    const e = logs.find((l) => l.severityText === 'ERROR');
    assert.ok(e, recv.summary());
    assert.equal(e.traceId, root.spanContext().traceId);
    assert.equal(e.spanId, root.spanContext().spanId);
    assert.equal(e.severityNumber, SeverityNumber.ERROR);
    assert.equal(typeof e.body, 'string');
    assert.deepEqual(JSON.parse(e.body as string), body);
    assert.equal(e.attributes['http.route'], '/slow');
    assert.equal(e.scope, 'harness-logs');
    assert.ok(e.timeUnixNano > 1_600_000_000_000_000_000n);
    const m = logs.find((l) => l.severityText === 'INFO');
    assert.ok(m);
    assert.deepEqual(m.body, { msg: 'map body', n: 3, nested: { k: 'v' } });
    assert.equal(m.traceId, '');
  });

  it('decodes a histogram from the OTel JS SDK exporter and forwards it to Prometheus', async () => {
    const resource = resourceFromAttributes({ 'service.name': 'harness-sdk' });
    const reader = new PeriodicExportingMetricReader({ exporter: new OTLPMetricExporter({ url: `${recv.url}/v1/metrics` }), exportIntervalMillis: 60_000 });
    const mp = new MeterProvider({ resource, readers: [reader] });
    const h = mp.getMeter('harness-metrics').createHistogram('http.server.request.duration', { unit: 's' });
    for (const [route, v] of [['/slow', 2.5], ['/slow', 1.2], ['/hello', 0.002]] as const) {
      h.record(v, { 'http.route': route, 'http.request.method': 'GET', 'http.response.status_code': 200 });
    }
    await mp.forceFlush();
    await mp.shutdown();
    const metric = await waitFor('histogram', () => recv.metrics().find((x) => x.name === 'http.server.request.duration'), 10_000);
    assert.equal(metric.type, 'histogram');
    assert.equal(metric.unit, 's');
    assert.equal(metric.resource['service.name'], 'harness-sdk');
    assert.deepEqual(metric.points.map((p) => p.attributes['http.route']).sort(), ['/hello', '/slow']);
    assert.deepEqual(recv.forwardErrors(), []);
    const series = await waitFor('bucket series in Prometheus', async () => {
      const r = await prom.query('http_server_request_duration_seconds_bucket{job="harness-sdk",http_route="/slow"}');
      return r.length > 0 ? r : undefined;
    }, 20_000);
    assert.ok(series.some((s) => s.metric.le === '+Inf' && s.value[1] === '2'), JSON.stringify(series));
    const count = await prom.query('sum by (http_route) (http_server_request_duration_seconds_count{job="harness-sdk"})');
    assert.deepEqual(Object.fromEntries(count.map((s) => [s.metric.http_route, s.value[1]])), { '/slow': '2', '/hello': '1' });
  });

  it('forwards exemplars: protobuf and JSON OTLP built from the official definitions reach Prometheus', async () => {
    // The JS SDK records no exemplars, so this request is encoded directly with the OTLP .proto definitions.
    const traceId = root.spanContext().traceId;
    const spanId = root.spanContext().spanId;
    const nowNs = BigInt(Date.now()) * 1_000_000n;
    const request = (job: string, idsAs: 'bytes' | 'hex') => {
      const id = (h: string) => (idsAs === 'bytes' ? Buffer.from(h, 'hex') : h);
      return {
        resourceMetrics: [{
          resource: { attributes: [{ key: 'service.name', value: { stringValue: job } }] },
          scopeMetrics: [{
            scope: { name: 'harness' },
            metrics: [{
              name: 'http.server.request.duration', unit: 's',
              histogram: {
                aggregationTemporality: 2,
                dataPoints: [{
                  attributes: [{ key: 'http.route', value: { stringValue: '/slow' } }],
                  startTimeUnixNano: String(nowNs - 10_000_000_000n), timeUnixNano: String(nowNs),
                  count: '1', sum: 2.5, bucketCounts: ['0', '0', '1'], explicitBounds: [0.5, 1],
                  exemplars: [{ timeUnixNano: String(nowNs - 1_000_000_000n), asDouble: 2.5, traceId: id(traceId), spanId: id(spanId) }],
                }],
              },
            }],
          }],
        }],
      };
    };
    const T = (await otlpRoot()).lookupType('opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest');
    const pb = T.encode(T.fromObject(request('harness-pb', 'bytes'))).finish();
    let res = await fetch(`${recv.url}/v1/metrics`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip' }, body: gzipSync(pb) });
    assert.equal(res.status, 200, await res.text());
    res = await fetch(`${recv.url}/v1/metrics`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(request('harness-json', 'hex')) });
    const text = await res.text();
    assert.equal(res.status, 200, text);
    assert.equal(text, '{}');
    for (const job of ['harness-pb', 'harness-json']) {
      const m = recv.metrics().find((x) => x.resource['service.name'] === job);
      assert.ok(m, `${job}: ${recv.summary()}`);
      assert.deepEqual(m.points[0]?.exemplars, [{ traceId, spanId }]);
    }
    assert.deepEqual(recv.forwardErrors(), []);
    const now = Date.now() / 1000;
    for (const job of ['harness-pb', 'harness-json']) {
      const ex = await waitFor(`exemplar for ${job}`, async () => {
        const r = await prom.exemplars(`http_server_request_duration_seconds_bucket{job="${job}"}`, now - 600, now + 60);
        return r.length > 0 ? r : undefined;
      }, 20_000);
      const labels = ex.flatMap((s) => s.exemplars.map((e) => e.labels));
      assert.ok(labels.some((l) => l.trace_id === traceId && l.span_id === spanId), JSON.stringify(ex));
      assert.ok(ex.every((s) => s.seriesLabels.__name__ === 'http_server_request_duration_seconds_bucket'));
    }
  });

  it('rejects what it cannot decode and says so', async () => {
    const before = recv.requests().length;
    let res = await fetch(`${recv.url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: 'zz', spanId: '00' }] }] }] }) });
    assert.equal(res.status, 400);
    assert.match(await res.text(), /not a hex id/);
    res = await fetch(`${recv.url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' });
    assert.equal(res.status, 400);
    res = await fetch(`${recv.url}/v1/nothing`, { method: 'POST', body: 'x' });
    assert.equal(res.status, 404);
    assert.equal(recv.requests().length, before + 2);
    assert.equal(recv.requests().filter((r) => r.status === 400).length, 2);
  });

  it('decodes OTLP/JSON traces (hex ids, snake_case accepted)', async () => {
    const body = {
      resourceSpans: [{
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'json-svc' } }] },
        scope_spans: [{
          scope: { name: 'json-scope' },
          spans: [{
            traceId: '5b8efff798038103d269b633813fc60c', spanId: 'eee19b7ec3c1b174', parentSpanId: 'eee19b7ec3c1b173',
            name: 'json-span', kind: 2, startTimeUnixNano: '1544712660000000000', end_time_unix_nano: '1544712661500000000',
            attributes: [{ key: 'n', value: { intValue: '42' } }, { key: 'big', value: { intValue: '9007199254740993' } }],
            status: { code: 1 },
          }],
        }],
      }],
    };
    const res = await fetch(`${recv.url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json; charset=utf-8' }, body: JSON.stringify(body) });
    assert.equal(res.status, 200);
    const s = recv.spans().find((x) => x.name === 'json-span');
    assert.ok(s, recv.summary());
    assert.equal(s.traceId, '5b8efff798038103d269b633813fc60c');
    assert.equal(s.spanId, 'eee19b7ec3c1b174');
    assert.equal(s.parentSpanId, 'eee19b7ec3c1b173');
    assert.equal(s.kind, 2);
    assert.equal(s.durationMs, 1500);
    assert.equal(s.endTimeUnixNano, 1544712661500000000n);
    assert.deepEqual(s.attributes, { n: 42, big: 9007199254740993n });
    assert.equal(s.resource['service.name'], 'json-svc');
    assert.equal(s.scope, 'json-scope');
    assert.deepEqual(s.status, { code: 1, message: '' });
  });
});

/** A CPU pprof like Go's: main -> handler -> checkEmail -> regexp frames, labelled by span. */
function buildPprof(spanId: string): Uint8Array {
  const st = new StringTable();
  const fnames = ['runtime.main', 'main.handler', 'main.checkEmail', 'regexp.(*Regexp).backtrack', 'regexp.(*bitState).shouldVisit', 'main.other'];
  const functions = fnames.map((n, i) => new PFunction({ id: i + 1, name: st.dedup(n), systemName: st.dedup(n), filename: st.dedup('main.go') }));
  // location 3 holds two inlined lines: checkEmail (callee, first) inlined into handler.
  const locations = [
    new Location({ id: 1, line: [new Line({ functionId: 1, line: 10 })] }),
    new Location({ id: 2, line: [new Line({ functionId: 3, line: 20 }), new Line({ functionId: 2, line: 30 })] }),
    new Location({ id: 3, line: [new Line({ functionId: 4, line: 40 })] }),
    new Location({ id: 4, line: [new Line({ functionId: 5, line: 50 })] }),
    new Location({ id: 5, line: [new Line({ functionId: 6, line: 60 })] }),
  ];
  const lbl = () => [new Label({ key: st.dedup('span_id'), str: st.dedup(spanId) }), new Label({ key: st.dedup('span_name'), str: st.dedup('GET /slow') })];
  const samples = [
    new Sample({ locationId: [4, 3, 2, 1], value: [7, 70_000_000], label: lbl() }), // leaf first
    new Sample({ locationId: [2, 1], value: [2, 20_000_000], label: lbl() }),
    new Sample({ locationId: [5, 1], value: [1, 10_000_000], label: [] }),
  ];
  const p = new Profile({
    sampleType: [new ValueType({ type: st.dedup('samples'), unit: st.dedup('count') }), new ValueType({ type: st.dedup('cpu'), unit: st.dedup('nanoseconds') })],
    sample: samples, location: locations, function: functions, stringTable: st,
    periodType: new ValueType({ type: st.dedup('cpu'), unit: st.dedup('nanoseconds') }), period: 10_000_000,
    timeNanos: BigInt(Date.now()) * 1_000_000n, durationNanos: 10_000_000_000,
  });
  return p.encode();
}

function multipart(boundary: string, parts: { name: string; filename: string; data: Uint8Array; type?: string }[]): Buffer {
  const chunks: Buffer[] = [];
  for (const p of parts) {
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"; filename="${p.filename}"\r\nContent-Type: ${p.type ?? 'application/octet-stream'}\r\n\r\n`));
    chunks.push(Buffer.from(p.data), Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(chunks);
}

describe('profile receiver', { timeout: 10 * 60_000 }, () => {
  let recv: ProfileReceiver;
  before(async () => { recv = await startProfileReceiver(); });
  after(async () => { await recv?.close(); });

  const SPAN = 'a1b2c3d4e5f60718';
  const check = (service: string, wire: string) => {
    const cpu = recv.profiles().find((p) => p.service === service && p.sampleType === 'cpu');
    assert.ok(cpu, `${service}: ${recv.summary()}`);
    assert.equal(cpu.wire, wire);
    const labelled = cpu.samples.filter((s) => s.labels.span_id === SPAN);
    assert.equal(labelled.length, 2);
    assert.deepEqual(labelled[0]?.stack, ['runtime.main', 'main.handler', 'main.checkEmail', 'regexp.(*Regexp).backtrack', 'regexp.(*bitState).shouldVisit']);
    assert.equal(labelled[0]?.value, 70_000_000);
    assert.equal(labelled[0]?.labels.span_name, 'GET /slow');
    const hot = hottestFrames(labelled, 3);
    assert.deepEqual(hot.map((h) => h.frame), ['regexp.(*Regexp).backtrack', 'regexp.(*bitState).shouldVisit']);
    assert.ok(Math.abs((hot[0]?.share ?? 0) - 7 / 9) < 1e-9, JSON.stringify(hot));
    assert.equal(frameShare(cpu.samples, /checkEmail/), 0.9);
    assert.deepEqual(hottestFrames(cpu.samples, 2).map((h) => h.frame), ['main.handler', 'main.checkEmail']);
    const samples = recv.profiles().find((p) => p.service === service && p.sampleType === 'samples');
    assert.equal(samples?.samples.reduce((a, s) => a + s.value, 0), 10);
  };

  it('decodes pprof sent like pyroscope-go (multipart `profile` part, gzip)', async () => {
    const boundary = 'b0undary123';
    const body = multipart(boundary, [
      { name: 'profile', filename: 'profile.pprof', data: gzipSync(buildPprof(SPAN)) },
      { name: 'sample_type_config', filename: 'sample_type_config.json', data: Buffer.from('{"cpu":{"units":"nanoseconds"}}') },
    ]);
    const q = new URLSearchParams({ name: 'go-like{env=test,region=x}', from: '1', until: '2', spyName: 'gospy', sampleRate: '100', units: '', aggregationType: '' });
    const res = await fetch(`${recv.url}/ingest?${q}`, { method: 'POST', headers: { 'content-type': `multipart/form-data; boundary=${boundary}` }, body: new Uint8Array(body) });
    assert.equal(res.status, 200, await res.text());
    check('go-like', 'ingest-pprof');
    const p = recv.profiles().find((x) => x.service === 'go-like');
    assert.deepEqual(p?.labels, { env: 'test', region: 'x', service_name: 'go-like' });
  });

  it('decodes pprof sent like @pyroscope/nodejs (raw gzip body, format=pprof)', async () => {
    const q = new URLSearchParams({ format: 'pprof', from: '1', name: 'node-like', spyName: 'nodespy', until: '2', sampleRate: '100' });
    const res = await fetch(`${recv.url}/ingest?${q}`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: gzipSync(buildPprof(SPAN)) });
    assert.equal(res.status, 200, await res.text());
    check('node-like', 'ingest-pprof');
  });

  it('decodes /push.v1.PusherService/Push encoded with the official push.proto', async () => {
    const T = (await pyroscopeRoot()).lookupType('push.v1.PushRequest');
    const msg = T.fromObject({
      series: [{
        labels: [{ name: '__name__', value: 'process_cpu' }, { name: 'service_name', value: 'push-like' }, { name: 'env', value: 'test' }],
        samples: [{ rawProfile: gzipSync(buildPprof(SPAN)), ID: '734FD599-6865-419E-9475-932762D8F469' }],
      }],
    });
    const res = await fetch(`${recv.url}/push.v1.PusherService/Push`, { method: 'POST', headers: { 'content-type': 'application/proto', 'connect-protocol-version': '1' }, body: new Uint8Array(T.encode(msg).finish()) });
    assert.equal(res.status, 200, await res.text());
    assert.equal(res.headers.get('content-type'), 'application/proto');
    check('push-like', 'push');
    assert.equal(recv.profiles().find((p) => p.service === 'push-like')?.labels.env, 'test');
  });

  it('rejects garbage with 400 and records why', async () => {
    const res = await fetch(`${recv.url}/ingest?name=bad&format=pprof`, { method: 'POST', body: 'not a profile' });
    assert.equal(res.status, 400);
    const last = recv.requests().at(-1);
    assert.equal(last?.status, 400);
    assert.ok(last?.error);
  });

  it('decodes the Pyroscope Java agent\'s default upload (JFR + labels) from a real agent', { timeout: 5 * 60_000 }, async () => {
    const { agentJar } = await ensureJfrDecoder();
    const src = join(repoRoot, 'tools', 'jfr-decode', 'AgentProbe.java');
    const classes = await populateAtomically(join(cacheDir('jfr-decode'), `probe-${contentHash([src])}`), async (tmp) => {
      await run('javac', ['-nowarn', '-cp', agentJar, '-d', tmp, src]);
    });
    const labelSpan = '00000000000000aa';
    const tracingSpan = '1234abcd5678ef01';
    const out = await run('java', ['-XX:+UseSerialGC', `-javaagent:${agentJar}`, '-cp', `${classes}:${agentJar}`, 'AgentProbe', labelSpan, tracingSpan, '1500', '4500'], {
      cwd: classes, timeoutMs: 120_000,
      env: {
        ...process.env, PYROSCOPE_APPLICATION_NAME: 'jfr-probe{env=test}', PYROSCOPE_SERVER_ADDRESS: recv.url,
        PYROSCOPE_UPLOAD_INTERVAL: '2s', PYROSCOPE_PROFILER_ALLOC: '256k', PYROSCOPE_LOG_LEVEL: 'info',
      },
    });
    const diag = () => `${recv.summary()}\n--- agent output ---\n${out.stdout}${out.stderr}`;
    const jfr = recv.requests().filter((r) => r.wire === 'ingest-jfr');
    assert.ok(jfr.length > 0, diag());
    assert.ok(jfr.every((r) => r.status === 200), diag());
    assert.ok(jfr.every((r) => r.contentType === 'multipart/form-data' && /format=jfr/.test(r.query)), diag());
    const profiles = recv.profiles().filter((p) => p.service === 'jfr-probe');
    assert.ok(profiles.every((p) => p.labels.env === 'test' && p.wire === 'ingest-jfr'), diag());
    const cpu = profiles.filter((p) => p.sampleType === 'cpu').flatMap((p) => p.samples);
    for (const span of [labelSpan, tracingSpan]) {
      const mine = cpu.filter((s) => s.labels.span_id === span);
      assert.ok(mine.length > 0, `no cpu samples labelled span_id=${span}\n${diag()}`);
      const total = mine.reduce((a, s) => a + s.value, 0);
      assert.ok(total >= 0.3e9, `only ${total} ns of cpu under span ${span}`);
      assert.ok(frameShare(mine, /^AgentProbe\.checkEmail$/) > 0.8, JSON.stringify(hottestFrames(mine, 10)));
      assert.ok(frameShare(mine, /^java\/util\/regex\//) > 0.8);
      assert.ok(hottestFrames(mine, 10).some((h) => /^java\/util\/regex\//.test(h.frame)));
      assert.ok(mine.every((s) => s.stack[0] !== undefined && !/regex/.test(s.stack[0])), 'stacks are root first');
    }
    assert.ok(cpu.some((s) => s.labels.profile_id === tracingSpan), 'profile_id kept next to span_id');
    const alloc = profiles.filter((p) => p.sampleType.startsWith('alloc_') && p.sampleType.endsWith('_bytes')).flatMap((p) => p.samples);
    assert.ok(frameShare(alloc, /AgentProbe\.allocateMemoryBurst/) > 0.5, `alloc: ${JSON.stringify(hottestFrames(alloc, 5))}`);
  });
});

describe('launcher', { timeout: 2 * 60_000 }, () => {
  it('starts a process tree, waits for health, captures output and kills the whole tree', async () => {
    const port = await freePort();
    const script = `
      const { spawn } = require('node:child_process');
      const g = spawn('sleep', ['300'], { stdio: 'ignore' });
      console.log('grandchild ' + g.pid);
      console.error('to stderr');
      process.on('SIGTERM', () => console.log('ignoring SIGTERM'));
      setTimeout(() => require('node:http').createServer((q, r) => r.end('ok')).listen(${port}, '127.0.0.1', () => console.log('listening')), 300);
    `;
    const app = await launchApp({ name: 'tree', command: process.execPath, args: ['-e', script], cwd: process.cwd(), env: { X: '1' }, healthUrl: `http://127.0.0.1:${port}/`, timeoutMs: 20_000 });
    await waitFor('output', () => (/listening/.test(app.output()) ? true : undefined), 5000);
    assert.match(app.output(), /to stderr/);
    const grandchild = Number(/grandchild (\d+)/.exec(app.output())?.[1]);
    assert.ok(grandchild > 0);
    assert.ok(groupAlive(app.pid));
    const t0 = Date.now();
    await app.stop(); // the node process ignores SIGTERM: SIGKILL after 10 s
    assert.ok(Date.now() - t0 >= 9_000, 'waited for the grace period');
    assert.ok(!groupAlive(app.pid), 'process group gone');
    const alive = (() => { try { process.kill(grandchild, 0); return existsSync(`/proc/${grandchild}`) && !/\) Z /.test(execFileSync('cat', [`/proc/${grandchild}/stat`]).toString()); } catch { return false; } })();
    assert.equal(alive, false, 'grandchild killed');
    await fetch(`http://127.0.0.1:${port}/`).then(() => assert.fail('still answering'), () => undefined);
  });

  it('rejects with the captured output when the process exits before turning healthy', async () => {
    const port = await freePort();
    await assert.rejects(
      launchApp({ name: 'dies', command: process.execPath, args: ['-e', 'console.log("config error: X"); process.exit(3)'], cwd: process.cwd(), env: {}, healthUrl: `http://127.0.0.1:${port}/` }),
      (e: Error) => /exited before becoming healthy \(code 3/.test(e.message) && /config error: X/.test(e.message),
    );
  });

  it('rejects and kills the process when it never turns healthy', async () => {
    const port = await freePort();
    await assert.rejects(
      launchApp({ name: 'never', command: process.execPath, args: ['-e', 'console.log("waiting"); setInterval(() => {}, 1000)'], cwd: process.cwd(), env: {}, healthUrl: `http://127.0.0.1:${port}/`, timeoutMs: 1500 }),
      (e: Error) => /did not answer/.test(e.message) && /waiting/.test(e.message),
    );
  });

  it('waitFor names what it waited for', async () => {
    await assert.rejects(waitFor('the moon', () => undefined, 300, 50), /timed out waiting for the moon/);
    assert.equal(await waitFor('three', () => 3, 300), 3);
  });
});

/** The import() URL of a compiled harness module, for scripts run in a new node process. */
const harnessUrl = (module: string): string => new URL(`./harness/${module}.js`, import.meta.url).href;
/** node's arguments to run `script` as an ES module. */
const nodeScript = (script: string): string[] => ['--input-type=module', '-e', script];

describe('cache lock', { timeout: 2 * 60_000 }, () => {
  let root = '';
  before(() => { root = makeTempDir('lgtmp-cache-lock-'); });
  after(() => removeTempDir(root));

  it('parallel processes filling the same cache entry share one build', async () => {
    const target = join(root, 'shared');
    const count = join(root, 'builds');
    const script = `
      import { appendFileSync, writeFileSync } from 'node:fs';
      const { populateAtomically } = await import(${JSON.stringify(harnessUrl('cache'))});
      await populateAtomically(${JSON.stringify(target)}, async (tmp) => {
        appendFileSync(${JSON.stringify(count)}, 'built\\n');
        await new Promise((r) => setTimeout(r, 1000));
        writeFileSync(tmp + '/result', String(process.pid));
      });`;
    await Promise.all([1, 2, 3].map(() => run(process.execPath, nodeScript(script), { timeoutMs: 60_000 })));
    assert.equal(readFileSync(count, 'utf8'), 'built\n', 'one build for three processes');
    assert.deepEqual(readdirSync(target), ['result']);
    assert.deepEqual(readdirSync(root).sort(), ['builds', 'shared'], 'no lock or temp dir left');
  });

  it('fills an entry whose folder does not exist yet (a fresh cache)', async () => {
    const target = join(root, 'fresh', 'nested', 'entry');
    await populateAtomically(target, async (tmp) => writeFileSync(join(tmp, 'result'), 'ok'));
    assert.equal(readFileSync(join(target, 'result'), 'utf8'), 'ok');
    assert.deepEqual(readdirSync(join(root, 'fresh', 'nested')), ['entry'], 'no lock or temp dir left');
  });

  it('a killed build leaves no result, and the next caller takes over its lock and builds', async () => {
    const target = join(root, 'crashed');
    const script = `
      import { writeFileSync } from 'node:fs';
      const { populateAtomically } = await import(${JSON.stringify(harnessUrl('cache'))});
      await populateAtomically(${JSON.stringify(target)}, async (tmp) => {
        writeFileSync(tmp + '/partial', 'half');
        await new Promise(() => setInterval(() => {}, 1000));
      });`;
    const child = spawn(process.execPath, nodeScript(script), { stdio: 'ignore' });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    await waitFor('the build to start writing', () => existsSync(join(`${target}.tmp`, 'partial')), 30_000, 50);
    child.kill('SIGKILL');
    await exited;
    assert.ok(!existsSync(target), 'no result from the killed build');
    assert.ok(existsSync(`${target}.lock`), 'its lock is left behind');
    await populateAtomically(target, async (tmp) => { writeFileSync(join(tmp, 'result'), 'whole'); });
    assert.deepEqual(readdirSync(target), ['result']);
    assert.deepEqual(readdirSync(root).filter((n) => n.startsWith('crashed')), ['crashed'], 'the lock and the half-written temp dir are gone');
  });

  it('Ctrl-C ends a test process with its launched apps killed and its temp dirs removed', async () => {
    const port = await freePort();
    const server = `require('node:http').createServer((q, r) => r.end('ok')).listen(${port}, '127.0.0.1')`;
    const script = `
      const { launchApp, makeTempDir } = await import(${JSON.stringify(harnessUrl('launcher'))});
      const dir = makeTempDir('lgtmp-sigint-');
      const app = await launchApp({ name: 'srv', command: process.execPath, args: ['-e', ${JSON.stringify(server)}], cwd: dir, env: {}, healthUrl: 'http://127.0.0.1:${port}/' });
      console.log(JSON.stringify({ dir, pid: app.pid }));
      setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, nodeScript(script), { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => { out += b.toString('utf8'); });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const started = await waitFor('the test process to start its app', () => (out.includes('\n') ? (JSON.parse(out) as { dir: string; pid: number }) : undefined), 30_000, 50);
    assert.ok(existsSync(started.dir) && groupAlive(started.pid));
    child.kill('SIGINT');
    assert.equal(await exited, 130, 'exit code 128 + SIGINT');
    assert.ok(!existsSync(started.dir), `temp dir ${started.dir} removed`);
    await waitFor('the app\'s process group to be gone (SIGKILL sent at exit)', () => !groupAlive(started.pid), 5_000, 50);
  });
});

// Alloy's one change to traces and logs, run by the collector's own transform processor: the receiver's
// throughAlloy mode, which the logs-link and examples tests use to see `job` as the stack stores it.
describe("Alloy's transform block through the collector's transform processor (test/harness/alloy-transform.ts)", { timeout: 25 * 60_000 }, () => {
  it('reads the block of stack/alloy/config.alloy: job from service.name for traces and logs, nothing for metrics', () => {
    const config = alloyTransformConfig();
    const statement = 'set(attributes["job"], attributes["service.name"]) where attributes["job"] == nil';
    assert.equal(config['error_mode'], 'ignore');
    assert.deepEqual(config['trace_statements'], [{ context: 'resource', statements: [statement] }]);
    assert.deepEqual(config['log_statements'], [{ context: 'resource', statements: [statement] }]);
    assert.equal(config['metric_statements'], undefined);
  });

  it("gives an SDK's spans and logs job = service.name, and keeps a job the service set", async () => {
    const recv = await startOtlpReceiver({ throughAlloy: true });
    try {
      for (const [name, extra] of [['alloy-plain', {}], ['alloy-own-job', { job: 'team/own' }]] as const) {
        const resource = resourceFromAttributes({ 'service.name': name, ...extra });
        const tp = new BasicTracerProvider({ resource, spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporter({ url: `${recv.url}/v1/traces` }))] });
        tp.getTracer('alloy-check').startSpan('GET /', { kind: SpanKind.SERVER }).end();
        await tp.shutdown();
        const lp = new LoggerProvider({ resource, processors: [new SimpleLogRecordProcessor({ exporter: new OTLPLogExporter({ url: `${recv.url}/v1/logs` }) })] });
        lp.getLogger('alloy-check').emit({ severityNumber: SeverityNumber.INFO, body: 'hello' });
        await lp.shutdown();
      }
      const jobs = (xs: Array<{ resource: Record<string, unknown> }>) => Object.fromEntries(xs.map((x) => [String(x.resource['service.name']), x.resource['job']]));
      const want = { 'alloy-plain': 'alloy-plain', 'alloy-own-job': 'team/own' };
      await waitFor('2 spans and 2 log records', () => (recv.spans().length >= 2 && recv.logs().length >= 2) || undefined, 10 * 60_000, 100);
      assert.deepEqual(jobs(recv.spans()), want, recv.summary());
      assert.deepEqual(jobs(recv.logs()), want, recv.summary());
      assert.ok(recv.requests().every((r) => r.status === 200), recv.summary());
    } finally {
      await recv.close();
    }
  });
});
