// Tempo cannot run here, so the series its metrics-generator writes to Mimir (traces_spanmetrics_*,
// traces_service_graph_*) are written into the Prometheus peer by this module, in the exact label
// shape that real Tempo 3.0.3 wrote into a real Prometheus in test/fixtures/recorded/prometheus/*.json.
// Label sets are taken from those recordings; the VALUES (counts, durations) are made up here, and
// the service-graph histograms reuse the label sets of the recorded traces_service_graph_request_total
// (the recording lists their names, not their series). These are recorded shapes, NOT Tempo output.
//
// Transport: the peer's OTLP receiver (the harness starts Prometheus with --web.enable-otlp-receiver,
// not with the remote-write receiver Tempo itself would use). Each series is sent as an OTLP
// cumulative sum or explicit-bucket histogram with an EMPTY resource, so Prometheus adds no
// job/instance labels and no target_info; data-point attributes become exactly the recorded labels
// (the caller checks that by reading them back). Exemplars carry the attribute `traceID`, as the
// generator's do. Encoded with the official OTLP .proto definitions (test/harness/protos.ts).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { fixturesDir } from '../verify/fixture-server.js';
import { otlpRoot } from '../harness/protos.js';

type Labels = Record<string, string>;

interface Fixture<T = unknown> {
  request: { method: string; path: string; params: Record<string, string>; body: unknown };
  status: number;
  response: T;
}

export function readFixture<T = unknown>(file: string): Fixture<T> {
  return JSON.parse(readFileSync(join(fixturesDir(), file), 'utf8')) as Fixture<T>;
}

export function fixtureIndex(): { file: string; status: number; what: string }[] {
  return JSON.parse(readFileSync(join(fixturesDir(), 'index.json'), 'utf8')) as { file: string; status: number; what: string }[];
}

type Vector = { status: string; data: { resultType: string; result: { metric: Labels; value: [number, string] }[] } };
type ExemplarData = { status: string; data: { seriesLabels: Labels; exemplars: { labels: Labels; value: string }[] }[] };

const withoutName = (l: Labels): Labels => Object.fromEntries(Object.entries(l).filter(([k]) => k !== '__name__'));

/** The recorded series: label sets without __name__, and the last recorded counter value. */
export function recordedTempoShapes(): {
  calls: { labels: Labels; value: number }[];
  latency: { labels: Labels; value: number }[];
  serviceGraph: { labels: Labels; value: number }[];
  spanExemplars: Map<string, string[]>;
} {
  const vec = (f: string) =>
    readFixture<Vector>(f).response.data.result.map((r) => ({ labels: withoutName(r.metric), value: Number(r.value[1]) }));
  const spanExemplars = new Map<string, string[]>();
  for (const s of readFixture<ExemplarData>('prometheus/exemplars-spanmetrics.json').response.data) {
    const { le: _le, ...rest } = withoutName(s.seriesLabels);
    const key = seriesKey(rest);
    const ids = spanExemplars.get(key) ?? [];
    for (const e of s.exemplars) if (e.labels.traceID) ids.push(e.labels.traceID);
    spanExemplars.set(key, ids);
  }
  return {
    calls: vec('prometheus/query-spanmetrics-calls.json'),
    latency: vec('prometheus/query-spanmetrics-latency-count.json'),
    serviceGraph: vec('prometheus/query-service-graph.json'),
    spanExemplars,
  };
}

export function seriesKey(l: Labels): string {
  return JSON.stringify(Object.entries(l).sort(([a], [b]) => a.localeCompare(b)));
}

/** Tempo's default buckets (modules/generator/processor/*: ExponentialBuckets(0.002, 2, 14) and (0.1, 2, 8)). */
export const SPAN_METRICS_BUCKETS = Array.from({ length: 14 }, (_, i) => Number((0.002 * 2 ** i).toFixed(3)));
export const SERVICE_GRAPH_BUCKETS = Array.from({ length: 8 }, (_, i) => Number((0.1 * 2 ** i).toFixed(1)));

/** A made-up but plausible duration per span name (seconds). */
function typicalSeconds(labels: Labels): number {
  const name = labels.span_name ?? '';
  if (name === 'GET /slow') return 2.5;
  if (name === 'slow_business_logic') return 2.4;
  if (name === 'GET /alloc') return 0.05;
  if (name === 'GET /chain') return 0.03;
  if (name === 'GET') return 0.012;
  return 0.001;
}

const attrs = (l: Labels) => Object.entries(l).map(([key, v]) => ({ key, value: { stringValue: v } }));

function histogramPoint(labels: Labels, bounds: number[], count: number, seconds: number, tNs: bigint, startNs: bigint, traceIds: string[]) {
  const bucketCounts = new Array<number>(bounds.length + 1).fill(0);
  let idx = bounds.findIndex((b) => seconds <= b);
  if (idx < 0) idx = bounds.length;
  bucketCounts[idx] = count;
  return {
    attributes: attrs(labels),
    startTimeUnixNano: startNs.toString(),
    timeUnixNano: tNs.toString(),
    count,
    sum: count * seconds,
    bucketCounts,
    explicitBounds: bounds,
    exemplars: traceIds.map((id) => ({
      filteredAttributes: [{ key: 'traceID', value: { stringValue: id } }],
      timeUnixNano: tNs.toString(),
      asDouble: seconds,
    })),
  };
}

export interface WriteResult {
  series: number;
  points: number;
  firstMs: number;
  lastMs: number;
}

/**
 * Writes the recorded Tempo series into the peer: `points` samples `stepMs` apart ending at `endMs`,
 * each counter growing linearly to 2 × its recorded value.
 */
export async function writeRecordedTempoSeries(prometheusUrl: string, o: { points: number; stepMs: number; endMs: number }): Promise<WriteResult> {
  const shapes = recordedTempoShapes();
  const root = await otlpRoot();
  const Req = root.lookupType('opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest');
  const firstMs = o.endMs - (o.points - 1) * o.stepMs;
  const startNs = BigInt(firstMs - o.stepMs) * 1_000_000n;
  let series = 0;
  for (let i = 0; i < o.points; i++) {
    const tNs = BigInt(firstMs + i * o.stepMs) * 1_000_000n;
    const share = (i + 1) / o.points;
    const grow = (v: number) => Math.max(1, Math.round(2 * v * share));
    const lastPoint = i === o.points - 1;
    const metrics = [
      {
        name: 'traces_spanmetrics_calls_total',
        sum: {
          aggregationTemporality: 2,
          isMonotonic: true,
          dataPoints: shapes.calls.map((s) => ({
            attributes: attrs(s.labels),
            startTimeUnixNano: startNs.toString(),
            timeUnixNano: tNs.toString(),
            asDouble: grow(s.value),
          })),
        },
      },
      {
        name: 'traces_spanmetrics_latency',
        histogram: {
          aggregationTemporality: 2,
          dataPoints: shapes.latency.map((s) =>
            histogramPoint(s.labels, SPAN_METRICS_BUCKETS, grow(s.value), typicalSeconds(s.labels), tNs, startNs,
              lastPoint ? (shapes.spanExemplars.get(seriesKey(s.labels)) ?? []).slice(0, 1) : []),
          ),
        },
      },
      {
        name: 'traces_service_graph_request_total',
        sum: {
          aggregationTemporality: 2,
          isMonotonic: true,
          dataPoints: shapes.serviceGraph.map((s) => ({
            attributes: attrs(s.labels),
            startTimeUnixNano: startNs.toString(),
            timeUnixNano: tNs.toString(),
            asDouble: grow(s.value),
          })),
        },
      },
      ...(['traces_service_graph_request_server_seconds', 'traces_service_graph_request_client_seconds'] as const).map((name) => ({
        name,
        histogram: {
          aggregationTemporality: 2,
          dataPoints: shapes.serviceGraph.map((s) =>
            histogramPoint(s.labels, SERVICE_GRAPH_BUCKETS, grow(s.value), 0.03, tNs, startNs, []),
          ),
        },
      })),
    ];
    if (i === 0) series = shapes.calls.length + shapes.latency.length + shapes.serviceGraph.length * 3;
    const message = Req.fromObject({
      resourceMetrics: [{ resource: { attributes: [] }, scopeMetrics: [{ scope: { name: 'lgtmp-test-recorded-tempo-shapes' }, metrics }] }],
    });
    const body = Buffer.from(Req.encode(message).finish());
    const res = await fetch(`${prometheusUrl.replace(/\/$/, '')}/api/v1/otlp/v1/metrics`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf' },
      body,
      signal: AbortSignal.timeout(15_000),
    });
    if (!res.ok) throw new Error(`Prometheus OTLP receiver answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
  }
  return { series, points: o.points, firstMs, lastMs: o.endMs };
}
