// "LGTMP overview": every service at a glance (RED from Tempo span metrics, the service graph),
// then the selected service across all four signals: the seed's PromQL, memory, error logs,
// traces and a CPU flame graph. Each service links to the per-service drill-down.

import { RowBuilder, type Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';

import {
  lgtmpDashboard,
  dashboardLink,
  dataLink,
  durationTimeseries,
  flameGraph,
  logs,
  memoryPanel,
  numberPanels,
  promTable,
  rateTimeseries,
  ratioTimeseries,
  seedPromqlPanels,
  serviceMap,
  text,
  tracesTable,
} from './panels.js';
import { dashboardUids, links, logql, promql, pyroscope, traceql } from './queries.js';

const toDrillDown = () => dataLink('Drill down into ${__field.labels.service}', links.serviceFromSeries);
const selectedToDrillDown = () => dataLink('Drill down into ${service}', links.serviceFromVariable);

const intro = `Demo apps send OTLP to **Alloy**, which routes traces to **Tempo**, logs to **Loki** and metrics to **Mimir**; profilers push to **Pyroscope**.
The first rows compare all services with the span metrics Tempo derives from traces; pick a service above for the rest.
Click a series, a service in the table or the link in the header for the [per-service drill-down](/d/${dashboardUids.service}/lgtmp-service).`;

export function overviewDashboard(): Dashboard {
  const b = lgtmpDashboard({
    title: 'LGTMP overview',
    uid: dashboardUids.overview,
    description: 'Logs, traces, metrics and profiles of the LGTMP demo apps on one page.',
    tag: 'overview',
  })
    .link(dashboardLink('Service drill-down', `/d/${dashboardUids.service}/lgtmp-service`));

  b.withPanel(text('LGTMP', intro, { w: 24, h: 3 }));

  // ---------------------------------------------------------------- all services
  b.withRow(new RowBuilder('All services: requests, errors, duration (Tempo span metrics)'));
  b.withPanel(
    promTable({
      title: 'Services over the time range',
      description:
        'One row per service: requests per second answered (server spans), share of them that ended in error, and 95th percentile duration, from traces_spanmetrics_* over the whole time range. Click a service to drill down.',
      columns: [
        { expr: promql.spanRateByServiceRange, name: 'Requests/s', unit: 'reqps' },
        { expr: promql.spanErrorRatioByServiceRange, name: 'Errors', unit: 'percentunit' },
        { expr: promql.spanP95ByServiceRange, name: 'p95', unit: 's' },
      ],
      joinField: 'service',
      size: { w: 9, h: 9 },
      joinFieldLink: dataLink('Drill down into ${__value.raw}', links.serviceFromCell),
    }),
  );
  b.withPanel(
    serviceMap({
      title: 'Service graph',
      description:
        "Who calls whom, from Tempo's service-graph metrics (traces_service_graph_*) that Grafana's Tempo datasource reads from Mimir. `user` is Tempo's node for requests that came from outside (the traffic generators). The /chain route makes node -> go -> java -> python.",
      size: { w: 15, h: 9 },
    }),
  );
  b.withPanel(
    rateTimeseries({
      title: 'Request rate by service',
      description: 'Server spans per second, per service (traces_spanmetrics_calls_total). Click a series to drill down.',
      expr: promql.spanRateByService,
      legend: '{{service}}',
      size: { w: 8, h: 8 },
      links: [toDrillDown()],
    }),
  );
  b.withPanel(
    ratioTimeseries({
      title: 'Error ratio by service',
      description:
        'Share of server spans with status ERROR, per service (0 while a service had no error). Try `curl localhost:8080/hello?fail=true`.',
      expr: promql.spanErrorRatioByService,
      legend: '{{service}}',
      size: { w: 8, h: 8 },
      links: [toDrillDown()],
    }),
  );
  b.withPanel(
    durationTimeseries({
      title: 'p95 duration by service',
      description:
        '95th percentile of server span duration, per service (traces_spanmetrics_latency_bucket). Exemplar dots carry a traceID: click one to open that trace in Tempo.',
      expr: promql.spanP95ByService,
      legend: '{{service}}',
      size: { w: 8, h: 8 },
      links: [toDrillDown()],
    }),
  );

  // ---------------------------------------------------------------- the seed's PromQL
  b.withRow(new RowBuilder('$service: the seed\'s PromQL (app metrics, http_server_request_duration_seconds_*)'));
  for (const p of seedPromqlPanels({
    rate: {
      title: 'Request rate ($service)',
      description:
        "The seed's first query: rate(http_server_request_duration_seconds_count{job=\"$service\"}[5m]), one series per route, method, status code and instance, from the app's own http.server.request.duration histogram.",
    },
    p95: {
      title: 'p95 latency by route ($service)',
      description:
        "The seed's second query: histogram_quantile(0.95, …http_server_request_duration_seconds_bucket…) by route. /slow should sit in the seconds; after the regex fix (REGEX_MODE=fixed) it drops. Exemplars (trace_id) open the trace.",
    },
    errorRatio: {
      title: '5xx ratio ($service)',
      description:
        "The seed's third query: share of answers with http_response_status_code=~\"5..\" (0 while there were none). `?fail=true` on any route answers 500.",
      byRoute: false,
    },
    size: { w: 8, h: 8 },
    links: [selectedToDrillDown()],
  })) {
    b.withPanel(p);
  }

  // ---------------------------------------------------------------- the other signals
  b.withRow(new RowBuilder('$service: memory, error logs, traces, CPU profile'));
  b.withPanel(
    memoryPanel({
      title: 'Process memory ($service)',
      description:
        "Memory the app reports over OTLP: its resident set size (process_memory_usage_bytes) where it sends one, else the runtime's own figure (JVM, Go runtime or V8 heap); the legend says which. Each /alloc keeps ~50 MB until ALLOC_MAX_BATCHES, so calling it repeatedly draws a staircase that then plateaus.",
      size: { w: 12, h: 9 },
      links: [selectedToDrillDown()],
    }),
  );
  b.withPanel(
    logs({
      title: 'Recent error logs ($service)',
      description:
        'Loki: {job="$service"} |= "error" — the request logs of 5xx answers (they carry "level":"error"). Expand a line: the TraceID button opens the trace in Tempo.',
      expr: logql.errorLogs,
      size: { w: 12, h: 9 },
    }),
  );
  b.withPanel(
    tracesTable({
      title: 'Recent traces ($service)',
      description:
        'Tempo TraceQL { resource.service.name="$service" }: the newest traces of the service. Click a trace id to open the waterfall; from a span, jump to its logs, metrics and profile.',
      traceql: traceql.serviceTraces,
      size: { w: 12, h: 12 },
    }),
  );
  b.withPanel(
    flameGraph({
      title: 'CPU flame graph ($service)',
      description:
        'Pyroscope process_cpu profile of the service over the time range. For demo-app the /slow regex (checkEmail -> regexp) dominates.',
      profileTypeId: pyroscope.cpuProfileType,
      labelSelector: pyroscope.serviceSelector,
      size: { w: 12, h: 12 },
    }),
  );

  return numberPanels(b.build());
}
