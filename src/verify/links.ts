// Grafana Explore deep links: the page a person would open to see what a check saw.
export interface ExploreTarget {
  datasourceUid: string;
  datasourceType: string;
  query: Record<string, unknown>;
  /** epoch milliseconds, or a relative time such as 'now-15m' */
  fromMs: number | string;
  toMs: number | string;
  /** Trace view: the span to open. */
  spanId?: string;
}

const edge = (t: number | string, round: (n: number) => number): string => (typeof t === 'number' ? String(round(t)) : t);

export function exploreUrl(grafana: string, t: ExploreTarget): string {
  const pane: Record<string, unknown> = {
    datasource: t.datasourceUid,
    queries: [{ refId: 'A', datasource: { type: t.datasourceType, uid: t.datasourceUid }, ...t.query }],
    range: { from: edge(t.fromMs, Math.floor), to: edge(t.toMs, Math.ceil) },
  };
  if (t.spanId) pane['panelsState'] = { trace: { spanId: t.spanId } };
  const params = new URLSearchParams({ schemaVersion: '1', panes: JSON.stringify({ a: pane }), orgId: '1' });
  return `${grafana.replace(/\/+$/, '')}/explore?${params.toString()}`;
}

export const lokiLink = (grafana: string, uid: string, expr: string, fromMs: number | string, toMs: number | string) =>
  exploreUrl(grafana, { datasourceUid: uid, datasourceType: 'loki', query: { expr, queryType: 'range' }, fromMs, toMs });

export const promLink = (grafana: string, uid: string, expr: string, fromMs: number | string, toMs: number | string, exemplar = false) =>
  exploreUrl(grafana, { datasourceUid: uid, datasourceType: 'prometheus', query: { expr, range: true, exemplar }, fromMs, toMs });

export const traceqlLink = (grafana: string, uid: string, query: string, fromMs: number | string, toMs: number | string) =>
  exploreUrl(grafana, { datasourceUid: uid, datasourceType: 'tempo', query: { queryType: 'traceql', query, limit: 20 }, fromMs, toMs });

export const traceLink = (grafana: string, uid: string, traceId: string, fromMs: number | string, toMs: number | string, spanId?: string) =>
  exploreUrl(grafana, { datasourceUid: uid, datasourceType: 'tempo', query: { queryType: 'traceql', query: traceId }, fromMs, toMs, spanId });

export const serviceMapLink = (grafana: string, uid: string, fromMs: number | string, toMs: number | string) =>
  exploreUrl(grafana, { datasourceUid: uid, datasourceType: 'tempo', query: { queryType: 'serviceMap' }, fromMs, toMs });

export const profileLink = (
  grafana: string,
  uid: string,
  q: { profileTypeId: string; labelSelector: string; spanSelector?: string[] },
  fromMs: number | string,
  toMs: number | string,
) =>
  exploreUrl(grafana, {
    datasourceUid: uid,
    datasourceType: 'grafana-pyroscope-datasource',
    query: { queryType: 'profile', profileTypeId: q.profileTypeId, labelSelector: q.labelSelector, spanSelector: q.spanSelector ?? [], groupBy: [] },
    fromMs,
    toMs,
  });
