// Panel, query and variable builders shared by the LGTMP dashboards (Grafana Foundation SDK).
// Panel types used here all ship with core Grafana 13: timeseries, stat, table, logs, nodeGraph,
// flamegraph, text (and row).

import * as common from '@grafana/grafana-foundation-sdk/common';
import {
  AnnotationQueryBuilder,
  CustomVariableBuilder,
  DashboardBuilder,
  DashboardCursorSync,
  DashboardLinkBuilder,
  DashboardLinkType,
  PanelBuilder as GenericPanelBuilder,
  QueryVariableBuilder,
  VariableHide,
  VariableRefresh,
  VariableSort,
  type Dashboard,
  type Panel,
  type RowPanel,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { DataqueryBuilder as PyroscopeQuery } from '@grafana/grafana-foundation-sdk/grafanapyroscope';
import { PanelBuilder as LogsPanel } from '@grafana/grafana-foundation-sdk/logs';
import { DataqueryBuilder as LokiQuery } from '@grafana/grafana-foundation-sdk/loki';
import { PanelBuilder as NodeGraphPanel } from '@grafana/grafana-foundation-sdk/nodegraph';
import { DataqueryBuilder as PromQuery, PromQueryFormat } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as StatPanel } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as TablePanel } from '@grafana/grafana-foundation-sdk/table';
import { DataqueryBuilder as TempoQuery, SearchTableType, TempoQueryType } from '@grafana/grafana-foundation-sdk/tempo';
import { PanelBuilder as TextPanel, TextMode } from '@grafana/grafana-foundation-sdk/text';
import { PanelBuilder as TimeseriesPanel } from '@grafana/grafana-foundation-sdk/timeseries';

import { datasources, defaultService, faultsAnnotation, profileTypeMenu, promql } from './queries.js';

/** Size of a panel on Grafana's 24-column grid. */
export interface Size {
  w: number;
  h: number;
}

export interface PromTargetOptions {
  legend?: string;
  /** One value per series at the end of the range (tables, stats) instead of a time series. */
  instant?: boolean;
  /** Ask Mimir for exemplars too: their trace ids open the trace in Tempo. */
  exemplar?: boolean;
  refId?: string;
}

export function promTarget(expr: string, o: PromTargetOptions = {}): PromQuery {
  const q = new PromQuery()
    .datasource(datasources.mimir)
    .expr(expr)
    .refId(o.refId ?? 'A')
    .legendFormat(o.legend ?? '__auto');
  if (o.instant) q.instant().format(PromQueryFormat.Table);
  else q.range();
  if (o.exemplar) q.exemplar(true);
  return q;
}

/** A data link (Grafana field link) to another dashboard. */
export function dataLink(title: string, url: string): DashboardLinkBuilder {
  return new DashboardLinkBuilder(title).type(DashboardLinkType.Link).url(url);
}

/** A dashboard-level link in the dashboard's header that keeps the time range and the variables. */
export function dashboardLink(title: string, url: string): DashboardLinkBuilder {
  return new DashboardLinkBuilder(title)
    .type(DashboardLinkType.Link)
    .url(url)
    .icon('dashboard')
    .includeVars(true)
    .keepTime(true);
}

export interface TimeseriesOptions {
  title: string;
  description: string;
  targets: PromQuery[] | LokiQuery[];
  unit: string;
  size: Size;
  links?: DashboardLinkBuilder[];
  min?: number;
  max?: number;
  /** Datasource of the panel (defaults to Mimir). */
  datasource?: common.DataSourceRef;
}

export function timeseries(o: TimeseriesOptions): TimeseriesPanel {
  const p = new TimeseriesPanel()
    .title(o.title)
    .description(o.description)
    .datasource(o.datasource ?? datasources.mimir)
    .unit(o.unit)
    .span(o.size.w)
    .height(o.size.h)
    .lineWidth(1)
    .fillOpacity(10)
    .showPoints(common.VisibilityMode.Never)
    .spanNulls(false)
    .legend(
      new common.VizLegendOptionsBuilder()
        .showLegend(true)
        .displayMode(common.LegendDisplayMode.List)
        .placement(common.LegendPlacement.Bottom)
        .calcs([]),
    )
    .tooltip(new common.VizTooltipOptionsBuilder().mode(common.TooltipDisplayMode.Multi).sort(common.SortOrder.Descending));
  o.targets.forEach((t, i) => p.withTarget(t.refId(String.fromCharCode(65 + i))));
  if (o.min !== undefined) p.min(o.min);
  if (o.max !== undefined) p.max(o.max);
  if (o.links) p.dataLinks(o.links);
  return p;
}

/** Title and description of a panel: what differs between panels built from the same query. */
export interface PanelText {
  title: string;
  description: string;
}

export interface SeriesOptions extends PanelText {
  expr: string;
  legend: string;
  size: Size;
  links?: DashboardLinkBuilder[];
}

/** A rate over time, never below 0: requests per second unless `unit` says what else is counted. */
export function rateTimeseries(o: SeriesOptions & { unit?: string }): TimeseriesPanel {
  const { expr, legend, unit, ...rest } = o;
  return timeseries({ ...rest, targets: [promTarget(expr, { legend })], unit: unit ?? 'reqps', min: 0 });
}

/** A share between 0 and 1 (errors among calls), drawn on a fixed 0-100 % axis. */
export function ratioTimeseries(o: SeriesOptions): TimeseriesPanel {
  const { expr, legend, ...rest } = o;
  return timeseries({ ...rest, targets: [promTarget(expr, { legend })], unit: 'percentunit', min: 0, max: 1 });
}

/** A duration quantile; its exemplars carry trace ids, so a dot opens the trace of that request. */
export function durationTimeseries(o: SeriesOptions): TimeseriesPanel {
  const { expr, legend, ...rest } = o;
  return timeseries({ ...rest, targets: [promTarget(expr, { legend, exemplar: true })], unit: 's', min: 0 });
}

export interface SeedPromqlOptions {
  rate: PanelText;
  p95: PanelText;
  /** The 5xx ratio of the whole service, or with `byRoute` one series per route. */
  errorRatio: PanelText & { byRoute: boolean };
  size: Size;
  links?: DashboardLinkBuilder[];
}

/** The seed's three PromQL queries on the app's own HTTP histogram: request rate, p95 by route, 5xx ratio. */
export function seedPromqlPanels(o: SeedPromqlOptions): TimeseriesPanel[] {
  const { size, links } = o;
  const { byRoute, ...errorRatio } = o.errorRatio;
  return [
    rateTimeseries({
      ...o.rate,
      expr: promql.seedRate,
      legend: '{{http_request_method}} {{http_route}} {{http_response_status_code}}',
      size,
      links,
    }),
    durationTimeseries({ ...o.p95, expr: promql.seedP95ByRoute, legend: '{{http_route}}', size, links }),
    byRoute
      ? ratioTimeseries({ ...errorRatio, expr: promql.seed5xxRatioByRoute, legend: '{{http_route}}', size, links })
      : ratioTimeseries({ ...errorRatio, expr: promql.seed5xxRatio, legend: '5xx ratio', size, links }),
  ];
}

/** Process memory of $service, one line labelled with the metric it comes from (promql.memory). */
export function memoryPanel(o: PanelText & { size: Size; links?: DashboardLinkBuilder[] }): TimeseriesPanel {
  return timeseries({ ...o, targets: [promTarget(promql.memory, { legend: '{{memory}}' })], unit: 'bytes', min: 0 });
}

export interface StatOptions {
  title: string;
  description: string;
  expr: string;
  unit: string;
  size: Size;
  links?: DashboardLinkBuilder[];
  decimals?: number;
}

export function stat(o: StatOptions): StatPanel {
  const p = new StatPanel()
    .title(o.title)
    .description(o.description)
    .datasource(datasources.mimir)
    .withTarget(promTarget(o.expr))
    .unit(o.unit)
    .span(o.size.w)
    .height(o.size.h)
    .graphMode(common.BigValueGraphMode.Area)
    .colorMode(common.BigValueColorMode.None)
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false))
    .noValue('no data yet');
  if (o.decimals !== undefined) p.decimals(o.decimals);
  if (o.links) p.dataLinks(o.links);
  return p;
}

export interface PromTableOptions {
  title: string;
  description: string;
  /** Instant queries, one column each, joined on `joinField`. */
  columns: { expr: string; name: string; unit: string }[];
  joinField: string;
  size: Size;
  /** A link on the cells of the join field. */
  joinFieldLink?: DashboardLinkBuilder;
}

/** A table of instant PromQL results, one row per value of `joinField`, one column per query. */
export function promTable(o: PromTableOptions): TablePanel {
  const p = new TablePanel()
    .title(o.title)
    .description(o.description)
    .datasource(datasources.mimir)
    .span(o.size.w)
    .height(o.size.h)
    .showHeader(true)
    .cellHeight(common.TableCellHeight.Sm);
  o.columns.forEach((c, i) => {
    const refId = String.fromCharCode(65 + i);
    p.withTarget(promTarget(c.expr, { instant: true, refId }));
    // Grafana names the value column of an instant table query "Value #<refId>" when the panel
    // has several queries and "Value" when it has one.
    for (const field of o.columns.length > 1 ? [`Value #${refId}`] : ['Value', `Value #${refId}`]) {
      p.overrideByName(field, [
        { id: 'displayName', value: c.name },
        { id: 'unit', value: c.unit },
      ]);
    }
  });
  p.withTransformation({ id: 'merge', options: {} });
  p.withTransformation({
    id: 'organize',
    options: { excludeByName: { Time: true }, indexByName: { [o.joinField]: 0 }, renameByName: {} },
  });
  if (o.joinFieldLink) {
    p.overrideByName(o.joinField, [{ id: 'links', value: [o.joinFieldLink.build()] }]);
  }
  return p;
}

export interface LogsOptions {
  title: string;
  description: string;
  expr: string;
  size: Size;
  maxLines?: number;
}

export function logs(o: LogsOptions): LogsPanel {
  return new LogsPanel()
    .title(o.title)
    .description(o.description)
    .datasource(datasources.loki)
    .withTarget(
      new LokiQuery()
        .datasource(datasources.loki)
        .refId('A')
        .expr(o.expr)
        .queryType('range')
        .maxLines(o.maxLines ?? 100),
    )
    .span(o.size.w)
    .height(o.size.h)
    .showTime(true)
    .wrapLogMessage(true)
    .prettifyLogMessage(false)
    .enableLogDetails(true)
    .sortOrder(common.LogsSortOrder.Descending)
    .dedupStrategy(common.LogsDedupStrategy.None);
}

export function lokiMetricTarget(expr: string, legend: string): LokiQuery {
  return new LokiQuery().datasource(datasources.loki).expr(expr).queryType('range').legendFormat(legend);
}

export interface TracesOptions {
  title: string;
  description: string;
  traceql: string;
  size: Size;
  limit?: number;
}

/** TraceQL search results as a table: one row per trace, the trace id opens it in Tempo. */
export function tracesTable(o: TracesOptions): TablePanel {
  return new TablePanel()
    .title(o.title)
    .description(o.description)
    .datasource(datasources.tempo)
    .withTarget(
      new TempoQuery()
        .datasource(datasources.tempo)
        .refId('A')
        .queryType(TempoQueryType.Traceql)
        .query(o.traceql)
        .limit(o.limit ?? 20)
        .spss(3)
        .tableType(SearchTableType.Traces),
    )
    .span(o.size.w)
    .height(o.size.h)
    .showHeader(true)
    .cellHeight(common.TableCellHeight.Sm);
}

export interface ServiceMapOptions {
  title: string;
  description: string;
  size: Size;
}

/** Tempo's service map: Grafana asks Mimir for traces_service_graph_* and draws nodes and edges. */
export function serviceMap(o: ServiceMapOptions): NodeGraphPanel {
  return new NodeGraphPanel()
    .title(o.title)
    .description(o.description)
    .datasource(datasources.tempo)
    .withTarget(new TempoQuery().datasource(datasources.tempo).refId('A').queryType(TempoQueryType.ServiceMap))
    .span(o.size.w)
    .height(o.size.h);
}

export interface FlameGraphOptions {
  title: string;
  description: string;
  profileTypeId: string;
  labelSelector: string;
  size: Size;
}

/** A Pyroscope flame graph (core `flamegraph` panel; the SDK has no dedicated builder for it). */
export function flameGraph(o: FlameGraphOptions): GenericPanelBuilder {
  return new GenericPanelBuilder()
    .type('flamegraph')
    .title(o.title)
    .description(o.description)
    .datasource(datasources.pyroscope)
    .withTarget(
      new PyroscopeQuery()
        .datasource(datasources.pyroscope)
        .refId('A')
        .queryType('profile')
        .profileTypeId(o.profileTypeId)
        .labelSelector(o.labelSelector)
        .groupBy([])
        .maxNodes(16384),
    )
    .span(o.size.w)
    .height(o.size.h)
    .options({});
}

export function text(title: string, markdown: string, size: Size): TextPanel {
  return new TextPanel()
    .title(title)
    .mode(TextMode.Markdown)
    .content(markdown)
    .span(size.w)
    .height(size.h)
    .transparent(true);
}

/** The `service` variable: one service.name, from the jobs that sent OTLP metrics. */
export function serviceVariable(): QueryVariableBuilder {
  return new QueryVariableBuilder('service')
    .label('Service')
    .description('service.name of a demo app (Mimir job label, Tempo span-metrics service label, Loki job label, Pyroscope service_name)')
    .datasource(datasources.mimir)
    .query({ qryType: 1, query: promql.serviceVariable, refId: 'PrometheusVariableQueryEditor-VariableQuery' })
    .definition(promql.serviceVariable)
    .current({ selected: true, text: defaultService, value: defaultService })
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .sort(VariableSort.AlphabeticalAsc)
    .multi(false)
    .includeAll(false);
}

/** "In-use bytes (demo-app + python-demo-app)": no comma or " : ", which Grafana's custom variable syntax reserves. */
const profileTypeOptions: { text: string; value: string }[] = profileTypeMenu.map((o) => ({
  text: `${o.what} (${o.apps.length === 4 ? 'every app' : o.apps.join(' + ')})`,
  value: o.value,
}));

/**
 * The drill-down's `profile_type` variable: which Pyroscope profile the flame graph shows.
 * Grafana splits a custom variable's values on commas and reads `text : value` pairs.
 */
export function profileTypeVariable(): CustomVariableBuilder {
  const first = profileTypeOptions[0]!;
  return new CustomVariableBuilder('profile_type')
    .label('Profile')
    .description('Pyroscope profile type of the flame graph')
    .values(profileTypeOptions.map((o) => `${o.text} : ${o.value}`).join(','))
    .options(profileTypeOptions.map((o, i) => ({ ...o, selected: i === 0 })))
    .current({ selected: true, text: first.text, value: first.value })
    .hide(VariableHide.DontHide)
    .multi(false)
    .includeAll(false);
}

/** Grafana's built-in "Annotations & Alerts" query, as Grafana itself writes it into a dashboard. */
export function builtInAnnotations(): AnnotationQueryBuilder {
  return new AnnotationQueryBuilder()
    .builtIn(1)
    .name('Annotations & Alerts')
    .type('dashboard')
    .datasource({ type: 'grafana', uid: '-- Grafana --' })
    .enable(true)
    .hide(true)
    .iconColor('rgba(0, 211, 255, 1)');
}

/**
 * "Faults": a region on every time series while a fault switch was on in an app. Grafana's
 * Prometheus annotations turn each series' samples above 0 into events, joining those at most
 * `step` apart into one region titled by `titleFormat` (processEvents in
 * packages/grafana-prometheus/src/annotations.ts).
 */
export function faultsAnnotationQuery(): AnnotationQueryBuilder {
  return new AnnotationQueryBuilder()
    .name('Faults')
    .datasource(datasources.mimir)
    .enable(true)
    .hide(false)
    .iconColor('rgba(255, 96, 96, 1)')
    .expr(faultsAnnotation.expr)
    .titleFormat(faultsAnnotation.titleFormat)
    .tagKeys(faultsAnnotation.tagKeys)
    .step(faultsAnnotation.step);
}

/** What both LGTMP dashboards share: tags, shared crosshair, 30 s refresh, the last 30 minutes, the service picker. */
export function lgtmpDashboard(o: { title: string; uid: string; description: string; tag: string }): DashboardBuilder {
  return new DashboardBuilder(o.title)
    .uid(o.uid)
    .description(o.description)
    .tags(['lgtmp', o.tag])
    .editable()
    .tooltip(DashboardCursorSync.Crosshair)
    .refresh('30s')
    .time({ from: 'now-30m', to: 'now' })
    .timezone('browser')
    .annotation(builtInAnnotations())
    .annotation(faultsAnnotationQuery())
    .withVariable(serviceVariable());
}

/** Gives every panel (rows included) a stable id, in order of appearance. */
export function numberPanels(d: Dashboard): Dashboard {
  let id = 1;
  for (const p of d.panels ?? []) {
    (p as Panel | RowPanel).id = id++;
    for (const inner of (p as RowPanel).panels ?? []) inner.id = id++;
  }
  return d;
}
