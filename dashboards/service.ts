// "LGTMP service": one service in depth. Reached from the overview with ?var-service=<name> and
// the overview's time range.

import { RowBuilder, type Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';

import {
  lgtmpDashboard,
  dashboardLink,
  dataLink,
  durationTimeseries,
  flameGraph,
  logs,
  lokiMetricTarget,
  memoryPanel,
  numberPanels,
  profileTypeVariable,
  promTable,
  rateTimeseries,
  ratioTimeseries,
  seedPromqlPanels,
  stat,
  timeseries,
  tracesTable,
} from './panels.js';
import { dashboardUids, datasources, links, logql, promql, pyroscope, traceql } from './queries.js';

export function serviceDashboard(): Dashboard {
  const b = lgtmpDashboard({
    title: 'LGTMP service drill-down',
    uid: dashboardUids.service,
    description: 'One demo app in depth: span metrics per operation, HTTP metrics per route, dependencies, memory, logs, traces and profiles.',
    tag: 'service',
  })
    .withVariable(profileTypeVariable())
    .link(dashboardLink('LGTMP overview', `/d/${dashboardUids.overview}/lgtmp-overview`));

  // ---------------------------------------------------------------- RED
  b.withRow(new RowBuilder('$service: requests, errors, duration (Tempo span metrics)'));
  b.withPanel(
    stat({
      title: 'Requests/s',
      description: 'Server spans per second of $service (traces_spanmetrics_calls_total, span_kind SERVER).',
      expr: promql.serviceSpanRate,
      unit: 'reqps',
      decimals: 2,
      size: { w: 8, h: 5 },
    }),
  );
  b.withPanel(
    stat({
      title: 'Error ratio',
      description: 'Share of server spans of $service with status ERROR.',
      expr: promql.serviceSpanErrorRatio,
      unit: 'percentunit',
      decimals: 1,
      size: { w: 8, h: 5 },
    }),
  );
  b.withPanel(
    stat({
      title: 'p95 duration',
      description: '95th percentile duration of the server spans of $service.',
      expr: promql.serviceSpanP95,
      unit: 's',
      decimals: 3,
      size: { w: 8, h: 5 },
    }),
  );
  b.withPanel(
    rateTimeseries({
      title: 'Rate by operation',
      description:
        'Spans per second of $service per span name and kind: server spans (GET /slow…), client spans of /chain and internal spans such as slow_business_logic.',
      expr: promql.serviceRateBySpan,
      legend: '{{span_name}} ({{span_kind}})',
      // not only requests: client and internal spans too
      unit: 'ops',
      size: { w: 8, h: 8 },
    }),
  );
  b.withPanel(
    ratioTimeseries({
      title: 'Error ratio by operation',
      description: 'Share of spans with status ERROR per span name.',
      expr: promql.serviceErrorRatioBySpan,
      legend: '{{span_name}}',
      size: { w: 8, h: 8 },
    }),
  );
  b.withPanel(
    durationTimeseries({
      title: 'p95 duration by operation',
      description:
        '95th percentile span duration per span name. slow_business_logic is the part of /slow spent in checkEmail. Exemplars (traceID) open the trace.',
      expr: promql.serviceP95BySpan,
      legend: '{{span_name}}',
      size: { w: 8, h: 8 },
    }),
  );

  // ---------------------------------------------------------------- HTTP metrics
  b.withRow(new RowBuilder('$service: HTTP server metrics (the app\'s http_server_request_duration_seconds_*)'));
  for (const p of seedPromqlPanels({
    rate: {
      title: 'Request rate',
      description: 'rate(http_server_request_duration_seconds_count{job="$service"}[5m]) per route, method, status code and instance.',
    },
    p95: {
      title: 'p95 latency by route',
      description: '95th percentile request duration per route; exemplars (trace_id) open the request\'s trace.',
    },
    errorRatio: {
      title: '5xx ratio by route',
      description: 'Share of answers with a 5xx status code per route (0 while there were none).',
      byRoute: true,
    },
    size: { w: 8, h: 8 },
  })) {
    b.withPanel(p);
  }

  // ---------------------------------------------------------------- dependencies
  b.withRow(new RowBuilder('$service: dependencies (Tempo service graph)'));
  b.withPanel(
    promTable({
      title: 'Called by',
      description:
        'Clients of $service and their calls per second over the time range (traces_service_graph_request_total{server="$service"}). `user` = requests from outside (no parent span). Click a client to drill down.',
      columns: [{ expr: promql.serviceCallers, name: 'Calls/s', unit: 'reqps' }],
      joinField: 'client',
      size: { w: 12, h: 7 },
      joinFieldLink: dataLink('Drill down into ${__value.raw}', links.serviceFromCell),
    }),
  );
  b.withPanel(
    promTable({
      title: 'Calls',
      description:
        'Services $service calls, calls per second and p95 duration seen by $service as the client (traces_service_graph_request_client_seconds). Click a server to drill down.',
      columns: [
        { expr: promql.serviceCallees, name: 'Calls/s', unit: 'reqps' },
        { expr: promql.serviceCalleeP95, name: 'p95', unit: 's' },
      ],
      joinField: 'server',
      size: { w: 12, h: 7 },
      joinFieldLink: dataLink('Drill down into ${__value.raw}', links.serviceFromCell),
    }),
  );

  // ---------------------------------------------------------------- memory and profiles
  b.withRow(new RowBuilder('$service: memory and profiles'));
  b.withPanel(
    memoryPanel({
      title: 'Process memory',
      description:
        'Resident set size where the app reports it, else the runtime\'s own memory figure (legend says which). /alloc keeps ~50 MB per call up to ALLOC_MAX_BATCHES: a staircase, then a plateau.',
      size: { w: 10, h: 12 },
    }),
  );
  b.withPanel(
    flameGraph({
      title: 'Flame graph: $profile_type',
      description:
        'Pyroscope profile of $service over the time range; pick the profile type above. CPU: /slow -> checkEmail -> regex. Allocated bytes (Go): /alloc -> allocateMemoryBurst. Wall clock (Node): time on and off CPU, waiting included.',
      profileTypeId: pyroscope.variableProfileType,
      labelSelector: pyroscope.serviceSelector,
      size: { w: 14, h: 12 },
    }),
  );

  // ---------------------------------------------------------------- logs
  b.withRow(new RowBuilder('$service: logs (Loki)'));
  b.withPanel(
    timeseries({
      title: 'Requests by route (from logs)',
      description: 'sum by (route) (count_over_time({job="$service"} | json [$__auto])): the request logs counted per route.',
      targets: [lokiMetricTarget(logql.logsByRoute, '{{route}}')],
      datasource: datasources.loki,
      unit: 'short',
      min: 0,
      size: { w: 8, h: 9 },
    }),
  );
  b.withPanel(
    logs({
      title: 'Request logs',
      description: '{job="$service"}: one JSON line per request; the TraceID button opens the trace.',
      expr: logql.serviceLogs,
      size: { w: 8, h: 9 },
    }),
  );
  b.withPanel(
    logs({
      title: 'Error logs',
      description: '{job="$service"} |= "error": the 5xx request logs.',
      expr: logql.errorLogs,
      size: { w: 8, h: 9 },
    }),
  );
  b.withPanel(
    logs({
      title: '/slow request logs',
      description: 'The seed\'s {job="$service"} | json | route="/slow": duration_ms shows how slow /slow is.',
      expr: logql.slowRouteLogs,
      size: { w: 24, h: 8 },
    }),
  );

  // ---------------------------------------------------------------- traces
  b.withRow(new RowBuilder('$service: traces (Tempo)'));
  b.withPanel(
    tracesTable({
      title: '/slow traces',
      description: '{ resource.service.name="$service" && name="GET /slow" }: open one, select slow_business_logic, then "Profiles for this span".',
      traceql: traceql.slowTraces,
      size: { w: 12, h: 10 },
    }),
  );
  b.withPanel(
    tracesTable({
      title: 'Traces with errors',
      description: '{ resource.service.name="$service" && status = error }: spans of $service that ended in error.',
      traceql: traceql.errorTraces,
      size: { w: 12, h: 10 },
    }),
  );

  return numberPanels(b.build());
}
