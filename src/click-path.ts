import { grafanaUrl } from './project.js';

export interface ExploreQuery {
  datasource: { type: string; uid: string };
  /** the query fields of that datasource type, e.g. { expr } for Loki and Prometheus, { query, queryType } for Tempo */
  fields: Record<string, unknown>;
  from?: string;
  to?: string;
}

/** A Grafana Explore link that opens one query in one datasource. */
export function exploreUrl(base: string, q: ExploreQuery): string {
  const panes = {
    a: {
      datasource: q.datasource.uid,
      queries: [{ refId: 'A', datasource: q.datasource, ...q.fields }],
      range: { from: q.from ?? 'now-15m', to: q.to ?? 'now' },
    },
  };
  return `${base}/explore?schemaVersion=1&orgId=1&panes=${encodeURIComponent(JSON.stringify(panes))}`;
}

export const datasources = {
  loki: { type: 'loki', uid: 'loki' },
  tempo: { type: 'tempo', uid: 'tempo' },
  mimir: { type: 'prometheus', uid: 'mimir' },
  pyroscope: { type: 'grafana-pyroscope-datasource', uid: 'pyroscope' },
} as const;

/** The seed's walk through Grafana, one link per step. */
export function clickPath(env: Record<string, string>): { title: string; url: string }[] {
  const base = grafanaUrl(env);
  return [
    { title: 'Logs of /slow (Loki)', url: exploreUrl(base, { datasource: datasources.loki, fields: { expr: '{job="demo-app"} | json | route="/slow"' } }) },
    {
      title: 'Traces of demo-app (Tempo)',
      url: exploreUrl(base, { datasource: datasources.tempo, fields: { queryType: 'traceql', query: '{ resource.service.name="demo-app" }' } }),
    },
    {
      title: 'p95 by route (Mimir)',
      url: exploreUrl(base, {
        datasource: datasources.mimir,
        fields: { expr: 'histogram_quantile(0.95, sum by (le, http_route) (rate(http_server_request_duration_seconds_bucket{job="demo-app"}[5m])))' },
      }),
    },
    {
      title: 'CPU flame graph (Pyroscope)',
      url: exploreUrl(base, {
        datasource: datasources.pyroscope,
        fields: { queryType: 'profile', profileTypeId: 'process_cpu:cpu:nanoseconds:cpu:nanoseconds', labelSelector: '{service_name="demo-app"}' },
      }),
    },
    { title: 'Dashboards', url: `${base}/dashboards/f/lgtmp` },
  ];
}
