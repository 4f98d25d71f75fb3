// The metric checks: a span's provisioned metric queries, exemplars to traces, the service graph,
// the seed's PromQL.
import { readFileSync } from 'node:fs';

import { parse as parseYaml } from 'yaml';

import { metrics, seedQueries } from '../facts.js';
import { composeFile } from '../project.js';
import { findSlowSpan, getTrace, memo, p95Query, type VerifyContext } from './context.js';
import { Fail } from './fail.js';
import * as links from './links.js';
import { exemplarDestinations, findDatasource, tracesToMetrics } from './provisioning.js';
import type { ExemplarSeries } from './prometheus.js';
import { traceToMetricsQueries } from './substitute.js';
import { rootSpan } from './tempo.js';
import { code, ds, EDGES, q, short, slowTraceMissing, type CheckFn, type Out } from './check-common.js';

// 4. trace -> metrics
const isErrorQuery = (query: string) => /STATUS_CODE_ERROR|status_code\s*=~?\s*"5|error/i.test(query);

export const traceToMetrics: CheckFn = async (ctx, svc, out) => {
  const tempo = ds(ctx, ctx.uids.tempo, 'Traces -> metrics', 'tempo');
  const tm = tracesToMetrics(tempo);
  if (!tm?.datasourceUid || !tm.queries || tm.queries.length === 0) {
    throw new Fail(`Tempo datasource ${tempo.uid}: tracesToMetrics ${tm ? 'has no queries' : 'missing'}`, 'tracesToMetrics.queries missing in provisioning: Grafana shows no metrics links on spans');
  }
  const promDs = ds(ctx, tm.datasourceUid, 'tracesToMetrics', 'prometheus');
  const found = await findSlowSpan(ctx, svc);
  if (!found.pick) throw slowTraceMissing(svc, found.searched, found.fetched);
  const { span } = found.pick;
  const queries = traceToMetricsQueries(span, tm);
  out.link = links.promLink(ctx.grafana, promDs.uid, queries[0]!.query, queries[0]!.range.fromMs, queries[0]!.range.toMs);

  const calls = (await memo(ctx, 'spanmetrics-calls', () => ctx.prom.query(metrics.spanCalls))).filter((s) => s.metric['service'] === svc);
  if (calls.length === 0) {
    throw new Fail(
      `traces_spanmetrics_calls_total: no series with service=${q(svc)}`,
      "no span metrics: Tempo's metrics-generator needs the span-metrics processor (overrides.defaults.metrics_generator.processors) and a working remote_write to Mimir",
    );
  }
  const parts: string[] = [];
  for (const mq of queries) {
    const label = mq.name ?? short(mq.query, 40);
    if (mq.undefinedVariables.length > 0) {
      throw new Fail(`${q(label)}: ${mq.undefinedVariables.join(', ')} undefined for span ${span.spanId}`, 'the provisioned query uses variables Grafana cannot fill for this span');
    }
    const series = await ctx.prom.query(mq.query);
    if (series.length === 0 && !isErrorQuery(mq.query)) {
      const labels = new Set(calls.flatMap((s) => Object.keys(s.metric)));
      const used = [...mq.query.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*=~?\s*"/g)].map((m) => m[1]!);
      const unknown = used.filter((l) => !labels.has(l));
      throw new Fail(
        `${q(label)}: ${code(mq.query)} returned no series`,
        unknown.length > 0
          ? `the query filters on label(s) ${unknown.join(', ')} that span metrics don't have (they have ${[...labels].filter((l) => !l.startsWith('__')).join(', ')}): fix tracesToMetrics.tags (e.g. service.name -> service)`
          : `no span metrics match span ${q(span.name)} of ${svc} yet: span metrics lag a minute behind traces`,
      );
    }
    parts.push(`${label}: ${series.length} series${series.length === 0 ? ' (no errors)' : ''}`);
  }
  return `span ${span.name} -> ${parts.join('; ')}`;
};

// 6. metrics -> traces: exemplars

const durationBuckets = (svc: string) => `${metrics.httpDuration}_bucket{job="${svc}"}`;
const SPAN_LATENCY_BUCKETS = metrics.spanLatencyBuckets;

/**
 * Services whose metrics SDK records no exemplars, with the reason. Their metrics -> traces path is
 * Tempo's span metrics (exemplars labelled traceID, on the overview's p95 panel), so that is what
 * the exemplar checks read for them; for every other service, the SDK's own histogram.
 */
export const SDK_WITHOUT_EXEMPLARS: Record<string, string> = {
  'node-demo-app': 'the OpenTelemetry JS metrics SDK records no exemplars, opentelemetry-js #2594',
};

interface ExemplarSource {
  histogram: string;
  routeLabel: string;
  /** The p95 query whose exemplar dots Grafana shows (the check's link). */
  p95: string;
  /** Set (to the reason) when these are Tempo's span metrics because the service's SDK records no exemplars. */
  sdkRecordsNone?: string;
  series(): Promise<ExemplarSeries[]>;
}

function exemplarSource(ctx: VerifyContext, svc: string): ExemplarSource {
  const sdkRecordsNone = SDK_WITHOUT_EXEMPLARS[svc];
  if (sdkRecordsNone === undefined) {
    const histogram = durationBuckets(svc);
    return { histogram, routeLabel: 'http_route', p95: p95Query(svc), series: () => memo(ctx, `exemplars:${svc}`, () => ctx.prom.exemplars(histogram, ctx.window.startMs, ctx.window.endMs)) };
  }
  return {
    histogram: `${SPAN_LATENCY_BUCKETS}{service="${svc}"}`,
    routeLabel: 'span_name',
    sdkRecordsNone,
    p95: `histogram_quantile(0.95, sum by (le, span_name) (rate(${SPAN_LATENCY_BUCKETS}{service="${svc}"}[5m])))`,
    // one query for every service (the generator's series of all services), filtered here
    series: async () =>
      (await memo(ctx, 'exemplars:spanmetrics', () => ctx.prom.exemplars(SPAN_LATENCY_BUCKETS, ctx.window.startMs, ctx.window.endMs))).filter((x) => x.seriesLabels['service'] === svc),
  };
}

interface ExemplarRef {
  traceId: string;
  label: string;
  route: string;
  timestampMs: number;
  destinationUid?: string;
}

async function exemplarRefs(ctx: VerifyContext, svc: string, out: Out): Promise<{ refs: ExemplarRef[]; evidence: string }> {
  const promDs = ds(ctx, ctx.uids.prometheus, 'Metrics -> traces', 'prometheus');
  const source = exemplarSource(ctx, svc);
  out.link = links.promLink(ctx.grafana, promDs.uid, source.p95, ctx.window.startMs, ctx.window.endMs, true);
  const dests = exemplarDestinations(promDs).filter((d) => d.name);
  if (dests.length === 0) {
    throw new Fail(`Mimir datasource ${promDs.uid}: no exemplarTraceIdDestinations`, 'exemplars are not clickable: add jsonData.exemplarTraceIdDestinations for trace_id (OTLP) and traceID (Tempo generator)');
  }
  const noSdkExemplars = source.sdkRecordsNone;
  const series = await source.series();
  const all = series.flatMap((s) => s.exemplars.map((e) => ({ ...e, route: s.seriesLabels[source.routeLabel] ?? '' })));
  if (all.length === 0 && noSdkExemplars !== undefined) {
    throw new Fail(
      `${source.histogram}: no exemplars in the window`,
      `${svc} records no exemplars itself (${noSdkExemplars}), and Tempo's span metrics have none for it either: is Tempo's metrics-generator writing span metrics with exemplars to Mimir (stack/tempo), and does Mimir keep exemplars (max_global_exemplars_per_user)?`,
    );
  }
  if (all.length === 0) {
    const rate = await ctx.prom.query(`sum by (http_route) (${seedQueries.requestRate(svc)})`);
    // Do other services' histograms have exemplars? Then Mimir keeps them and this app records none.
    const others = await ctx.prom
      .exemplars(`${metrics.httpDuration}_bucket`, ctx.window.startMs, ctx.window.endMs)
      .then((x) => [...new Set(x.filter((s) => s.exemplars.length > 0).map((s) => s.seriesLabels['job'] ?? '?'))])
      .catch(() => [] as string[]);
    throw new Fail(
      `${source.histogram}: no exemplars in the window`,
      rate.length === 0
        ? `no http_server_request_duration_seconds series for job=${svc} at all (see seed-promql), so no exemplars either`
        : others.length > 0
          ? `Mimir keeps exemplars (${others.join(', ')} have them) but ${svc} sends none: its SDK records no exemplars (exemplar filter off, or no exemplar support in that SDK)`
          : `no exemplars although the histogram has data: Mimir drops them while limits.max_global_exemplars_per_user is 0 (its default); or the SDK records none (OTEL_METRICS_EXEMPLAR_FILTER=always_off)`,
    );
  }
  const refs: ExemplarRef[] = [];
  for (const e of all) {
    const d = dests.find((x) => e.labels[x.name!] !== undefined);
    if (d) refs.push({ traceId: e.labels[d.name!]!.toLowerCase().padStart(32, '0'), label: d.name!, route: e.route, timestampMs: e.timestampMs, destinationUid: d.datasourceUid });
  }
  if (refs.length === 0) {
    const seen = [...new Set(all.flatMap((e) => Object.keys(e.labels)))];
    throw new Fail(
      `${all.length} exemplars with labels ${seen.join(', ')}`,
      `exemplarTraceIdDestinations names ${dests.map((d) => d.name).join(', ')} but the exemplars carry ${seen.join(', ')}: add a destination with that name`,
    );
  }
  refs.sort((a, b) => b.timestampMs - a.timestampMs);
  const labels = [...new Set(refs.map((r) => r.label))].join(', ');
  const from = noSdkExemplars === undefined ? '' : ` of Tempo's span metrics (${svc} itself records none: ${noSdkExemplars})`;
  return { refs, evidence: `${refs.length} exemplars on ${series.length} series${from} with trace ids in label ${labels}` };
}

export const exemplars: CheckFn = async (ctx, svc, out) => {
  const { refs, evidence } = await exemplarRefs(ctx, svc, out);
  return `${evidence}, newest ${refs[0]!.traceId} (${refs[0]!.route})`;
};

// An exemplar's trace id is an internal link to the Tempo datasource, query `${__value.raw}` with
// queryType traceId (getDataLinks in packages/grafana-prometheus/src/result_transformer.ts), over
// the panel's range: the trace-by-id request of getTrace with verify's window.
export const exemplarToTrace: CheckFn = async (ctx, svc, out) => {
  const { refs } = await exemplarRefs(ctx, svc, out);
  const ids = [...new Map(refs.map((r) => [r.traceId, r])).values()].slice(0, 20);
  const dest = ids[0]?.destinationUid;
  if (!dest || findDatasource(ctx.provisioning, dest)?.type !== 'tempo') {
    throw new Fail(`exemplar destination ${ids[0]?.label} points at datasource ${dest ?? '(unset)'}`, 'exemplarTraceIdDestinations must point at the Tempo datasource uid');
  }
  for (const [i, r] of ids.entries()) {
    const trace = await getTrace(ctx, r.traceId);
    if (trace) {
      const root = rootSpan(trace);
      out.link = links.traceLink(ctx.grafana, dest, r.traceId, r.timestampMs - 60_000, r.timestampMs + 60_000);
      return `exemplar ${r.label}=${r.traceId} (${r.route}) -> Tempo trace, ${trace.spans.length} spans (${root.serviceName}: ${root.name}); ${i + 1} of ${ids.length} ids looked up`;
    }
  }
  throw new Fail(
    `none of ${ids.length} exemplar trace ids (e.g. ${ids[0]!.traceId}) found in Tempo`,
    'exemplars point at traces Tempo does not have: traces not exported or sampled out while metrics keep exemplars of unsampled spans',
  );
};

// 7. service graph

/**
 * The edges of Tempo's service graph ("Service Graph" tab) as Grafana v13.2.1 asks Mimir for them:
 * makePromServiceMapRequest in public/app/plugins/datasource/tempo/datasource.ts, an instant query
 * `sum by (client, server) (rate(<metric>[$__range]))` at the end of the range, $__range being the
 * range's length in seconds.
 */
export function serviceMapQuery(window: { startMs: number; endMs: number }): { expr: string; timeSec: number } {
  const rangeSec = Math.round((window.endMs - window.startMs) / 1000);
  return { expr: `sum by (client, server) (rate(${metrics.serviceGraphRequests}[${rangeSec}s]))`, timeSec: window.endMs / 1000 };
}

export const serviceGraph: CheckFn = async (ctx, svc, out) => {
  const server = EDGES[svc]!;
  out.link = links.serviceMapLink(ctx.grafana, ctx.uids.tempo, ctx.window.startMs, ctx.window.endMs);
  const { expr, timeSec } = serviceMapQuery(ctx.window);
  const series = await memo(ctx, 'service-graph', () => ctx.prom.query(expr, timeSec));
  if (series.length === 0) {
    await ctx.tempo.ready(); // the series come from Tempo's metrics-generator: no Tempo, no verdict
    throw new Fail(
      `${code(expr)}: no series`,
      "no service graph: Tempo's metrics-generator needs the service-graphs processor (overrides.defaults.metrics_generator.processors) and remote_write to Mimir",
    );
  }
  const edge = series.filter((s) => s.metric['client'] === svc && s.metric['server'] === server);
  if (edge.length === 0) {
    const seen = [...new Set(series.map((s) => `${s.metric['client']}->${s.metric['server']}`))].sort();
    throw new Fail(
      `no edge ${svc} -> ${server} (edges: ${seen.join(', ')})`,
      `${svc} must call ${server}'s /chain with W3C trace context (NEXT_SERVICE_URL), and traffic must reach /chain (TRAFFIC_MIX)`,
    );
  }
  return `${code(expr)}: edge ${svc} -> ${server} at ${edge[0]!.value.toFixed(3)} requests/s`;
};

const HTTP_COUNT = `${metrics.httpDuration}_count`;

/** The OpenTelemetry SDKs' (and the Java agent's) default metric export interval: 60 s (OTEL_METRIC_EXPORT_INTERVAL). */
const DEFAULT_EXPORT_INTERVAL_MS = 60_000;

/** A demo app's metric export interval: compose.yaml's OTEL_METRIC_EXPORT_INTERVAL for it, else the SDK default. */
export function metricExportIntervalMs(svc: string, compose = composeFile): number {
  try {
    const doc = parseYaml(readFileSync(compose, 'utf8')) as { services?: Record<string, { environment?: Record<string, unknown> }> };
    const v = Number(doc.services?.[svc]?.environment?.['OTEL_METRIC_EXPORT_INTERVAL']);
    return Number.isFinite(v) && v > 0 ? v : DEFAULT_EXPORT_INTERVAL_MS;
  } catch {
    return DEFAULT_EXPORT_INTERVAL_MS;
  }
}

/**
 * Why a service's request rate is empty: series too young for rate() (one export so far), the
 * histogram without unit suffix, the metric under another job (namespace/name), or no metrics at all
 * (`whatToAdd`: the service's own recipe for that, default the OTLP variables).
 */
export async function whyNoRate(ctx: VerifyContext, svc: string, whatToAdd?: string): Promise<string> {
  const points = await ctx.prom.query(`max(count_over_time(${HTTP_COUNT}{job="${svc}"}[5m]))`);
  if (points.length > 0 && points[0]!.value < 2) {
    const newest = await ctx.prom.query(`max(timestamp(${HTTP_COUNT}{job="${svc}"}))`);
    const intervalMs = metricExportIntervalMs(svc);
    const nextMs = newest.length > 0 ? newest[0]!.value * 1000 + intervalMs : undefined;
    const waitS = nextMs === undefined ? intervalMs / 1000 : Math.max(1, Math.ceil((nextMs - ctx.nowMs) / 1000));
    return `${svc}'s series exist but have ${points[0]!.value} point(s) in the last 5m, and rate() needs two: the app exports metrics every ${intervalMs / 1000} s (OTEL_METRIC_EXPORT_INTERVAL), so the next point is due in about ${waitS} s; wait that long (or use --wait)`;
  }
  const names = await ctx.prom.labelValues('__name__');
  if (names.some((n) => n.startsWith('http_server_request_duration_bucket'))) {
    return 'the histogram is stored without unit suffix (http_server_request_duration_bucket): set Mimir limits.otel_metric_suffixes_enabled: true';
  }
  if (!names.includes(HTTP_COUNT)) return `no ${HTTP_COUNT} at all: metrics aren't reaching Mimir (app OTLP metrics export, Alloy -> Mimir /otlp)`;
  const jobs = (await ctx.prom.query(`count by (job) (${HTTP_COUNT})`)).map((x) => x.metric['job'] ?? '');
  const namespaced = jobs.filter((j) => j.endsWith(`/${svc}`));
  if (namespaced.length > 0) {
    return `${HTTP_COUNT} of ${svc} is stored under job=${namespaced.map((j) => q(j)).join(', ')}: Mimir derives job from service.namespace/service.name, so the seed's {job="${svc}"} misses it; drop service.namespace from the app's resource attributes (or query that job)`;
  }
  return `${HTTP_COUNT} has no series of ${svc} in the last 5m (jobs: ${jobs.join(', ') || 'none'}): ${svc} isn't exporting metrics (${whatToAdd ?? 'OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_METRICS_EXPORTER'}), or has served no request`;
}

export const seedPromql: CheckFn = async (ctx, svc, out) => {
  const rate = `sum by (http_route) (${seedQueries.requestRate(svc)})`;
  const p95 = p95Query(svc);
  const errors = seedQueries.errorRatio(svc);
  out.link = links.promLink(ctx.grafana, ctx.uids.prometheus, p95, ctx.window.startMs, ctx.window.endMs);
  const r = await ctx.prom.query(rate);
  if (r.length === 0) throw new Fail(`${rate}: no series`, await whyNoRate(ctx, svc));
  const p = await ctx.prom.query(p95);
  const e = await ctx.prom.query(errors);
  if (p.length === 0) throw new Fail(`${p95}: no series`, 'the duration histogram has no _bucket series (explicit-bucket histogram expected)');
  if (p.every((s) => Number.isNaN(s.value))) {
    throw new Fail(`${p95}: ${p.length} series, all NaN`, `no request of ${svc} was counted in the last 5 minutes (a new series needs two exports before rate() sees an increase)`);
  }
  const slow = p.find((s) => s.metric['http_route'] === '/slow' && !Number.isNaN(s.value));
  const routes = r.map((s) => s.metric['http_route'] ?? '?').sort();
  const errText = e.length === 0 ? 'no data' : Number.isNaN(e[0]!.value) ? 'NaN (no requests)' : e[0]!.value.toFixed(3);
  return `rate: ${r.length} routes (${routes.join(' ')}); p95${slow ? ` /slow ${slow.value.toFixed(2)} s` : `: ${p.length} series`}; 5xx ratio ${errText}`;
};

