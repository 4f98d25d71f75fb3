// "Logs for this span" on log exports real SDKs sent: the Go demo app's (trace id in the line and in the record's trace
// context) and a Python service's that logs through the OpenTelemetry logs bridge (trace id only in the trace
// context). The captured requests go through Loki 3.7.6's own OTLP parsing under stack/loki/loki.yaml, then the
// provisioned query, interpolated for one of the service's server spans as verify does it, through Loki's own LogQL
// code (tools/logql-check). logs-link.test.ts does the same on the recorded Loki responses.
//
// Alloy (stack/alloy/config.alloy, otelcol.processor.transform "job") copies service.name into the resource attribute
// `job` of spans and logs when the app set none; the query needs it on both. The receiver runs that block with the
// collector's own transform processor (throughAlloy), so the services here set no `job` themselves, as in compose.
// LGTMP_APPS (as in apps.test.ts) must include go, or be unset, for the Go app's part to run.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { SEED_SPAN_LOGS_QUERY } from '../src/facts.js';
import { findDatasource, readProvisioningFile, tracesToLogs } from '../src/verify/provisioning.js';
import { defaultProvisioningFile } from '../src/verify/run.js';
import { traceToLogsQuery, type LinkSpan } from '../src/verify/substitute.js';
import { GO_SERVICE, goApp } from './apps/go.js';
import { ensurePythonVenv } from './apps/python.js';
import { repoRoot, run } from './harness/cache.js';
import { freePort, launchApp, waitFor, type LaunchedApp } from './harness/launcher.js';
import { lokiQuery, lokiStreamsOf, type LokiEntry, type LokiStream } from './harness/loki-oracle.js';
import { servesRoute, SPAN_KIND_SERVER, startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from './harness/otlp-receiver.js';
import { startProfileReceiver, type ProfileReceiver } from './harness/profile-receiver.js';
import { loadFixtures } from './verify/fixture-server.js';

const wanted = (process.env['LGTMP_APPS'] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
const skipGo = wanted.length > 0 && !wanted.includes('go') ? 'LGTMP_APPS excludes go' : false;

const logsLink = tracesToLogs(findDatasource(readProvisioningFile(defaultProvisioningFile(), {}), 'tempo')!)!;

/** The span as verify reads it from Tempo: ids, times in microseconds, resource and span attributes. */
const linkSpanOf = (s: ReceivedSpan): LinkSpan => ({
  traceId: s.traceId,
  spanId: s.spanId,
  name: s.name,
  startTimeUs: Number(s.startTimeUnixNano / 1000n),
  durationUs: Number((s.endTimeUnixNano - s.startTimeUnixNano) / 1000n),
  resource: s.resource,
  attributes: s.attributes,
});

/** The query Grafana's "Logs for this span" runs for `span`: the provisioned one, or `query` in its place. */
function logsQueryFor(span: ReceivedSpan, query = logsLink.query!): string {
  const lq = traceToLogsQuery(linkSpanOf(span), { ...logsLink, query })!;
  assert.deepEqual(lq.undefinedVariables, [], `the span has what the query needs (${lq.query})`);
  return lq.query;
}

const entryKeys = (es: LokiEntry[]) => es.map((e) => `${e.ts} ${e.line}`).sort();
const entriesOfTrace = (streams: LokiStream[], traceId: string) => streams.flatMap((s) => s.entries.filter((e) => e.structuredMetadata['trace_id'] === traceId));

describe('"Logs for this span" on the Go demo app\'s own log exports, through Loki\'s OTLP parsing and LogQL code', { skip: skipGo }, () => {
  let otlp: OtlpReceiver;
  let profiles: ProfileReceiver;
  let app: LaunchedApp | undefined;
  let spans: ReceivedSpan[];
  let streams: LokiStream[];
  const diag = () => `${otlp.summary()}\n--- app output ---\n${app?.output().slice(-3000) ?? ''}`;

  before(async () => {
    await goApp.prepare();
    otlp = await startOtlpReceiver({ throughAlloy: true });
    profiles = await startProfileReceiver();
    const port = await freePort();
    app = await launchApp(goApp.launch({ port, otlpUrl: otlp.url, pyroscopeUrl: profiles.url }));
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`http://127.0.0.1:${port}/hello`, { signal: AbortSignal.timeout(30_000) });
      assert.equal(res.status, 200, await res.text());
    }
    spans = await waitFor('three /hello server spans and a log record of each of their traces', () => {
      const server = otlp.spans().filter((s) => s.kind === SPAN_KIND_SERVER && servesRoute(s, '/hello'));
      const logged = new Set(otlp.logs().map((l) => l.traceId));
      return server.length >= 3 && server.every((s) => logged.has(s.traceId)) ? server : undefined;
    }, 30_000).catch((e: Error) => assert.fail(`${e.message}\n${diag()}`));
    streams = await lokiStreamsOf(otlp.logRequests());
  }, { timeout: 20 * 60_000 });

  after(async () => {
    await app?.stop();
    await profiles?.close();
    await otlp?.close();
  });

  it('Loki stores its records in a stream labelled job="demo-app", each with the record\'s trace id as structured metadata trace_id', () => {
    assert.ok(streams.length > 0, diag());
    for (const s of streams) assert.equal(s.labels['job'], GO_SERVICE, JSON.stringify(s.labels));
    for (const span of spans) {
      const own = entriesOfTrace(streams, span.traceId);
      assert.ok(own.length > 0, `trace ${span.traceId}: no stored line`);
      for (const e of own) assert.ok(e.line.includes(span.traceId), `the Go app writes the trace id into its line: ${e.line}`);
    }
  });

  it('for each /hello server span, the provisioned query returns exactly that trace\'s lines', async () => {
    for (const span of spans) {
      const found = await lokiQuery(logsQueryFor(span), streams);
      assert.ok(found.length > 0, `trace ${span.traceId}: nothing found`);
      for (const m of found) assert.equal(m.structuredMetadata['trace_id'], span.traceId, m.line);
      assert.deepEqual(entryKeys(found), entryKeys(entriesOfTrace(streams, span.traceId)));
    }
  });
});

describe('"Logs for this span" on a service logging through the OpenTelemetry logs bridge (Python logging under opentelemetry-instrument)', () => {
  const SERVICE = 'orders';
  let otlp: OtlpReceiver;
  let printedTraceId: string;
  let span: ReceivedSpan;
  let streams: LokiStream[];

  before(async () => {
    const venv = await ensurePythonVenv();
    otlp = await startOtlpReceiver({ throughAlloy: true });
    const env: NodeJS.ProcessEnv = { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '' };
    Object.assign(env, {
      OTEL_SERVICE_NAME: SERVICE,
      OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_LOGS_EXPORTER: 'otlp',
      OTEL_METRICS_EXPORTER: 'none',
      // the python-demo-app venv's span profiler and host metrics: not part of this service
      OTEL_PYTHON_DISABLED_INSTRUMENTATIONS: 'pyroscope,system_metrics',
    });
    const emitter = join(repoRoot, 'test', 'logs-bridge', 'emit.py');
    const r = await run(join(venv, 'bin', 'opentelemetry-instrument'), [join(venv, 'bin', 'python'), emitter], { env, timeoutMs: 120_000 });
    printedTraceId = r.stdout.trim();
    assert.match(printedTraceId, /^[0-9a-f]{32}$/, r.stdout + r.stderr);
    // The SDK flushes its exporters when the process exits; the receiver has them by then, or soon.
    span = await waitFor('the emitter\'s server span and its two log records', () => {
      const s = otlp.spans().find((x) => x.kind === SPAN_KIND_SERVER && x.traceId === printedTraceId);
      return s && otlp.logs().length >= 2 ? s : undefined;
    }, 30_000).catch((e: Error) => assert.fail(`${e.message}\n${otlp.summary()}\n${r.stderr}`));
    streams = await lokiStreamsOf(otlp.logRequests());
  }, { timeout: 20 * 60_000 });

  after(async () => otlp?.close());

  it('the bridge sends the trace id only as the record\'s trace context: Loki keeps it as structured metadata, not in the line', () => {
    const all = streams.flatMap((s) => s.entries);
    assert.deepEqual(all.map((e) => e.line).sort(), ['order placed: 3 items', 'order queue drained']);
    const inSpan = all.find((e) => e.line === 'order placed: 3 items')!;
    assert.equal(inSpan.structuredMetadata['trace_id'], span.traceId);
    assert.equal(inSpan.structuredMetadata['span_id'], span.spanId);
    assert.ok(!inSpan.line.includes(span.traceId));
    assert.equal(all.find((e) => e.line === 'order queue drained')!.structuredMetadata['trace_id'], undefined, 'written outside any span');
    for (const s of streams) assert.equal(s.labels['job'], SERVICE);
  });

  it('Loki\'s parsing run here splits stream labels from structured metadata as the recorded Loki 3.7.6 did for the same SDK', () => {
    type Categorized = { data: { result: Array<{ stream: Record<string, string>; values: Array<[string, string, { structuredMetadata: Record<string, string> }]> }> } };
    const recorded = (loadFixtures().find((f) => f.file === 'loki/query-range-job-categorized.json')!.response as Categorized).data.result;
    assert.deepEqual(streams.map((s) => Object.keys(s.labels).sort()), [Object.keys(recorded[0]!.stream).sort()]);
    const ours = new Set(streams.flatMap((s) => s.entries.filter((e) => e.structuredMetadata['trace_id']).flatMap((e) => Object.keys(e.structuredMetadata))));
    // detected_level is added after parsing, by Loki's distributor (not run here); code_* are attributes of the
    // recording's emitter that this handler leaves out by default
    const expected = [...new Set(recorded.flatMap((s) => s.values.flatMap((v) => Object.keys(v[2].structuredMetadata))))].filter((k) => k !== 'detected_level' && !k.startsWith('code_'));
    assert.deepEqual(expected.filter((k) => !ours.has(k)), [], `structured metadata: ${[...ours].join(', ')}`);
  });

  it('the provisioned query finds the span\'s line; the seed\'s line filter finds nothing', async () => {
    const found = await lokiQuery(logsQueryFor(span), streams);
    assert.deepEqual(found.map((m) => [m.line, m.structuredMetadata['trace_id']]), [['order placed: 3 items', span.traceId]]);
    assert.deepEqual(await lokiQuery(logsQueryFor(span, SEED_SPAN_LOGS_QUERY), streams), []);
  });
});
