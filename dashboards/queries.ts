// Every query the LGTMP dashboards run, defined once. Panels import these; the tests import them
// too (and also walk the generated JSON) so each PromQL expression can be run against a real
// Prometheus, and each LogQL / TraceQL / Pyroscope query compared with what the real backends
// answered in test/fixtures/recorded.
//
// Grafana substitutes the `$…` variables before a query leaves the browser:
//   $service            the dashboard variable (one service.name, e.g. demo-app)
//   $profile_type       the drill-down's profile-type variable (a Pyroscope profile type id)
//   $__rate_interval    max(4 × scrape interval, step + scrape interval); Mimir's timeInterval is 15s
//   $__range            the dashboard's whole time range (instant "over the range" queries)
//   $__auto             LogQL step chosen by Grafana
//   ${service:queryparam} / ${__url_time_range}: URL fragments, only in data links.

import type { DataSourceRef } from '@grafana/grafana-foundation-sdk/common';
import { dashboardUids, datasources as provisioned, metrics, SEED_SERVICE, seedQueries, SPAN_PROFILE_TYPE } from '../src/facts.js';

export { dashboardUids };

const ref = (ds: { type: string; uid: string }): Required<DataSourceRef> => ({ type: ds.type, uid: ds.uid });
/** The provisioned datasources, as the panels reference them (type and fixed uid). */
export const datasources = {
  mimir: ref(provisioned.mimir),
  loki: ref(provisioned.loki),
  tempo: ref(provisioned.tempo),
  pyroscope: ref(provisioned.pyroscope),
} as const;

/** The service every query defaults to: the seed's Go app. */
export const defaultService = SEED_SERVICE;

// ---------------------------------------------------------------------------------------------
// PromQL (Mimir). Three families of series:
//  1. traces_spanmetrics_* : Tempo metrics-generator span metrics, labels service, span_name,
//     span_kind, status_code (+ le for the latency histogram); exemplars labelled traceID.
//  2. traces_service_graph_* : Tempo service graph, labels client, server (+ connection_type
//     "virtual_node" for the `user` edge into root spans); histograms with le.
//  3. http_server_request_duration_seconds_* and runtime memory: the apps' own OTLP metrics,
//     job = service.name, labels http_route, http_request_method, http_response_status_code;
//     exemplars labelled trace_id / span_id.
// ---------------------------------------------------------------------------------------------

const SERVER_SPANS = 'span_kind="SPAN_KIND_SERVER"';
const ERROR_SPANS = 'status_code="STATUS_CODE_ERROR"';
const SPAN_CALLS = metrics.spanCalls;
const SPAN_LATENCY = metrics.spanLatencyBuckets;
export const HTTP_COUNT = `${metrics.httpDuration}_count`;
export const HTTP_BUCKET = `${metrics.httpDuration}_bucket`;
export const HTTP_5XX = 'http_response_status_code=~"5.."';

/**
 * An error ratio that is 0, not "no data", where there were calls but no errors: Tempo only
 * creates an error series once an error span was seen, and the apps only create a 5xx series
 * once a 5xx was answered.
 */
export function errorRatio(by: string, all: string, errors: string): string {
  const grouping = by === '' ? 'sum' : `sum by (${by})`;
  return `(${grouping} (${errors}) or 0 * ${grouping} (${all})) / ${grouping} (${all})`;
}

function spanRate(selector: string, window: string): string {
  return `rate(${SPAN_CALLS}{${selector}}[${window}])`;
}

function httpRate(selector: string, window: string): string {
  return `rate(${HTTP_COUNT}{${selector}}[${window}])`;
}

/**
 * Process memory, one line per service: the first of these metrics the service reports, in this
 * order (names after Prometheus/Mimir OTLP translation: unit suffix added, dots to underscores).
 * - process_memory_usage_bytes: process.memory.usage, resident set size. The Go app registers it
 *   itself (apps/go/procmem.go); Python's opentelemetry-instrumentation-system-metrics 0.66b1
 *   lists it among its default metrics; Node's @opentelemetry/host-metrics would add it.
 * - jvm_memory_used_bytes: jvm.memory.used of the OpenTelemetry Java agent (heap + non-heap pools).
 * - go_memory_used_bytes: go.memory.used of go.opentelemetry.io/contrib/instrumentation/runtime
 *   v0.72.0 (read in its source: stack + other).
 * - v8js_memory_heap_used_bytes: v8js.memory.heap.used of @opentelemetry/instrumentation-runtime-node
 *   (the Node app's /alloc keeps plain JS arrays, so they are on the V8 heap).
 * Each branch is labelled `memory` with what it measures; `or on (job)` keeps the first that exists.
 */
export const memorySources = [
  { metric: 'process_memory_usage_bytes', label: 'RSS (process.memory.usage)' },
  { metric: 'jvm_memory_used_bytes', label: 'JVM memory used (jvm.memory.used)' },
  { metric: 'go_memory_used_bytes', label: 'Go runtime memory (go.memory.used)' },
  { metric: 'v8js_memory_heap_used_bytes', label: 'V8 heap used (v8js.memory.heap.used)' },
] as const;

export function memoryBranch(source: (typeof memorySources)[number]): string {
  return `label_replace(sum by (job) (${source.metric}{job="$service"}), "memory", "${source.label}", "", "")`;
}

export const promql = {
  /** Variable `service`: every job that sent OTLP metrics (target_info is written per resource). */
  serviceVariable: 'label_values(target_info, job)',

  // --- all services, from Tempo span metrics (server spans = requests a service answered) ---
  spanRateByService: `sum by (service) (${spanRate(SERVER_SPANS, '$__rate_interval')})`,
  spanErrorRatioByService: errorRatio(
    'service',
    spanRate(SERVER_SPANS, '$__rate_interval'),
    spanRate(`${SERVER_SPANS}, ${ERROR_SPANS}`, '$__rate_interval'),
  ),
  spanP95ByService: `histogram_quantile(0.95, sum by (le, service) (rate(${SPAN_LATENCY}{${SERVER_SPANS}}[$__rate_interval])))`,
  /** Instant versions over the whole time range, for the services table. */
  spanRateByServiceRange: `sum by (service) (${spanRate(SERVER_SPANS, '$__range')})`,
  spanErrorRatioByServiceRange: errorRatio(
    'service',
    spanRate(SERVER_SPANS, '$__range'),
    spanRate(`${SERVER_SPANS}, ${ERROR_SPANS}`, '$__range'),
  ),
  spanP95ByServiceRange: `histogram_quantile(0.95, sum by (le, service) (rate(${SPAN_LATENCY}{${SERVER_SPANS}}[$__range])))`,

  // --- one service, from Tempo span metrics ---
  serviceSpanRate: `sum(${spanRate(`service="$service", ${SERVER_SPANS}`, '$__rate_interval')})`,
  serviceSpanErrorRatio: errorRatio(
    '',
    spanRate(`service="$service", ${SERVER_SPANS}`, '$__rate_interval'),
    spanRate(`service="$service", ${SERVER_SPANS}, ${ERROR_SPANS}`, '$__rate_interval'),
  ),
  serviceSpanP95: `histogram_quantile(0.95, sum by (le) (rate(${SPAN_LATENCY}{service="$service", ${SERVER_SPANS}}[$__rate_interval])))`,
  /** Every span name of the service (server, client and internal spans such as slow_business_logic). */
  serviceRateBySpan: `sum by (span_name, span_kind) (${spanRate('service="$service"', '$__rate_interval')})`,
  serviceErrorRatioBySpan: errorRatio(
    'span_name',
    spanRate('service="$service"', '$__rate_interval'),
    spanRate(`service="$service", ${ERROR_SPANS}`, '$__rate_interval'),
  ),
  serviceP95BySpan: `histogram_quantile(0.95, sum by (le, span_name) (rate(${SPAN_LATENCY}{service="$service"}[$__rate_interval])))`,

  // --- service graph (Tempo service-graphs processor) ---
  /** Who calls $service (the `user` client is Tempo's virtual node for requests from outside). */
  serviceCallers: `sum by (client) (rate(${metrics.serviceGraphRequests}{server="$service"}[$__range]))`,
  /** Whom $service calls. */
  serviceCallees: `sum by (server) (rate(${metrics.serviceGraphRequests}{client="$service"}[$__range]))`,
  serviceCalleeP95: 'histogram_quantile(0.95, sum by (le, server) (rate(traces_service_graph_request_client_seconds_bucket{client="$service"}[$__range])))',

  // --- the seed's three queries, on the apps' own http.server.request.duration histogram ---
  /** Seed query 1, as written in the seed (one series per route, method, status code and instance). */
  seedRate: seedQueries.requestRate('$service'),
  /** Seed query 2, p95 per route. */
  seedP95ByRoute: seedQueries.p95ByRoute('$service'),
  /** Seed query 3, share of 5xx answers (the seed's `status=~"5.."` under its OTel name). */
  seed5xxRatio: errorRatio('', httpRate('job="$service"', '5m'), httpRate(`job="$service", ${HTTP_5XX}`, '5m')),
  seed5xxRatioByRoute: errorRatio(
    'http_route',
    httpRate('job="$service"', '5m'),
    httpRate(`job="$service", ${HTTP_5XX}`, '5m'),
  ),

  // --- memory (the /alloc staircase) ---
  memory: memorySources.map(memoryBranch).join(' or on (job) '),
} as const;

/**
 * The instant PromQL Grafana's Tempo datasource itself sends to its service-map datasource (Mimir,
 * `serviceMap.datasourceUid` in the provisioning) for a `serviceMap` query with no filter:
 * `sum by (client, server) (rate(<metric>[$__range]))` and
 * `group by (client, connection_type, server) (<metric>)` for each of these metrics (read in
 * Grafana's public/app/plugins/datasource/tempo/datasource.ts, makePromServiceMapRequest).
 * `traces_service_graph_request_failed_total` is also asked for; it exists only once a failed
 * call was seen, and Grafana draws the graph without it.
 */
export const serviceMapMetrics = {
  always: [
    'traces_service_graph_request_server_seconds_sum',
    'traces_service_graph_request_total',
    'traces_service_graph_request_server_seconds_bucket',
  ],
  onlyAfterFailures: ['traces_service_graph_request_failed_total'],
} as const;

export function serviceMapPromql(metric: string): string[] {
  return [
    `sum by (client, server) (rate(${metric}[$__range]))`,
    `group by (client, connection_type, server) (${metric})`,
  ];
}

// ---------------------------------------------------------------------------------------------
// LogQL (Loki). Apps export one JSON request log per request over OTLP; Loki indexes the resource
// attribute `job` (= service.name); trace_id / span_id are structured metadata.
// ---------------------------------------------------------------------------------------------
export const logql = {
  /** Every request log of the service. */
  serviceLogs: seedQueries.logs('$service'),
  /** The seed's error search: 5xx request logs carry `"level":"error"`. */
  errorLogs: seedQueries.errorLogs('$service'),
  /** The seed's `| json` query: request logs of /slow. */
  slowRouteLogs: seedQueries.slowLogs('$service'),
  /** Requests per route from the logs alone. */
  logsByRoute: 'sum by (route) (count_over_time({job="$service"} | json [$__auto]))',
} as const;

// ---------------------------------------------------------------------------------------------
// TraceQL (Tempo)
// ---------------------------------------------------------------------------------------------
export const traceql = {
  /** The seed's TraceQL (with the explicit resource scope). */
  serviceTraces: seedQueries.traces('$service'),
  /** /slow requests of the service (server span name "GET /slow" in every app). */
  slowTraces: '{ resource.service.name="$service" && name="GET /slow" }',
  /** Spans of the service that ended in error. */
  errorTraces: '{ resource.service.name="$service" && status = error }',
} as const;

// ---------------------------------------------------------------------------------------------
// Pyroscope
// ---------------------------------------------------------------------------------------------
export const profileTypes = {
  /** CPU time, in every app (Node: the wall profiler's CPU time, uploaded as process_cpu by the bootstrap). */
  cpu: SPAN_PROFILE_TYPE,
  /** Node's wall profiler: wall-clock time, waiting included. */
  wall: 'wall:wall:nanoseconds:wall:nanoseconds',
  /** pprof heap profiles (pyroscope-go, Python's profiler): period type "space". */
  allocSpace: 'memory:alloc_space:bytes:space:bytes',
  inuseSpace: 'memory:inuse_space:bytes:space:bytes',
  /** Node's heap profiler files the same sample type under period type "inuse_space". */
  inuseSpaceNode: 'memory:inuse_space:bytes:inuse_space:bytes',
  /** The Java agent (JFR): bytes allocated in new thread-local allocation buffers. */
  allocTlab: 'memory:alloc_in_new_tlab_bytes:bytes:space:bytes',
} as const;

/**
 * The drill-down's profile menu: each type named by what it measures and by the apps that really
 * send it, as Pyroscope 2.2.1 filed the four apps' uploads (test/fixtures/recorded/pyroscope/
 * apps-series-*.json; the dashboards test checks this list against them). Pyroscope lists every
 * service's types together, so a menu built from its profile types alone would offer an app
 * types it never sends.
 */
export const profileTypeMenu: ReadonlyArray<{ what: string; value: string; apps: readonly string[] }> = [
  { what: 'CPU time', value: profileTypes.cpu, apps: ['demo-app', 'java-demo-app', 'python-demo-app', 'node-demo-app'] },
  { what: 'Wall-clock time', value: profileTypes.wall, apps: ['node-demo-app'] },
  { what: 'Allocated bytes', value: profileTypes.allocSpace, apps: ['demo-app', 'python-demo-app'] },
  { what: 'Allocated bytes in new TLABs', value: profileTypes.allocTlab, apps: ['java-demo-app'] },
  { what: 'In-use bytes', value: profileTypes.inuseSpace, apps: ['demo-app', 'python-demo-app'] },
  { what: 'In-use bytes', value: profileTypes.inuseSpaceNode, apps: ['node-demo-app'] },
];

/** The faults annotation: 1 while a fault switch is on (docs/fault-switches.md), per app and kind. */
export const faultsAnnotation = {
  expr: `${metrics.faultActive} == 1`,
  titleFormat: 'fault {{fault}} on in {{job}}',
  tagKeys: 'job,fault',
  step: '30s',
} as const;

export const pyroscope = {
  /** The application name of every profiler is service.name; Pyroscope stores it as service_name. */
  serviceSelector: '{service_name="$service"}',
  cpuProfileType: profileTypes.cpu,
  /** Drill-down flame graph: the profile type picked in the `profile_type` variable. */
  variableProfileType: '$profile_type',
} as const;

// ---------------------------------------------------------------------------------------------
// Links between the dashboards (carry the service and the time range).
// ---------------------------------------------------------------------------------------------
export const links = {
  /** From a series labelled `service` (span metrics). */
  serviceFromSeries: `/d/${dashboardUids.service}/lgtmp-service?var-service=\${__field.labels.service}&\${__url_time_range}`,
  /** From a table cell holding the service name. */
  serviceFromCell: `/d/${dashboardUids.service}/lgtmp-service?var-service=\${__value.raw}&\${__url_time_range}`,
  /** From a panel about the selected service. */
  serviceFromVariable: `/d/${dashboardUids.service}/lgtmp-service?\${service:queryparam}&\${__url_time_range}`,
} as const;
