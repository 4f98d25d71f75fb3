// The checks of `lgtmp verify`: every correlation of the seed's click path, proved on live data
// with the provisioned settings, each returning what it saw (evidence), why it failed (cause)
// and the Grafana page a person would open (link).
import { existsSync, readFileSync } from 'node:fs';

import { parse as parseYaml } from 'yaml';

import { apps, CHAIN, metrics, seedQueries } from '../facts.js';
import { composeFile } from '../project.js';
import { clampToNow, findInSlowTraces, findSlowSpan, getTrace, memo, p95Query, SLOW_ROUTE, slowLogQuery, slowQuery, type VerifyContext } from './context.js';
import { serverSpanOf as byoLinkSpan } from './byo/checks.js';
import { Fail, NotSetUp } from './fail.js';
import type { CheckResult, Status } from './result.js';
import { HttpError, UnreachableError } from './http.js';
import { lintProvisioning } from './lint.js';
import { entryLabel, logMessage, matcherOf, traceIdOf, type LogEntry } from './loki.js';
import * as links from './links.js';
import {
  derivedFields,
  exemplarDestinations,
  findDatasource,
  tempoDerivedField,
  tracesToLogs,
  tracesToMetrics,
  traceQueryOf,
  tracesToProfiles,
  type DatasourceSettings,
  type TraceToProfilesOptions,
} from './provisioning.js';
import type { ExemplarSeries } from './prometheus.js';
import { inclusiveShare, parseProfileTypeId, REGEX_WORK, serviceSelector, topSelfFrames, type FlameGraph, type ProfileType } from './pyroscope.js';
import { traceToLogsQuery, traceToMetricsQueries, traceToProfilesQuery, type LinkSpan, type ProfileLinkQuery } from './substitute.js';
import { PROFILE_ID_TAG, profiledSpanOf, rootSpan, type Span, type Trace } from './tempo.js';

export type { CheckResult, Status } from './result.js';

/** The demo apps, the services every check runs for. */
export const SERVICES: readonly string[] = apps.map((s) => s.name);

/** The /chain call graph of the demo: node -> go -> java -> python. Keyed by client. */
export const EDGES: Record<string, string> = Object.fromEntries(CHAIN.slice(0, -1).map((client, i) => [client, CHAIN[i + 1]!]));

export { Fail };

export interface Out {
  link: string;
}

export type CheckFn = (ctx: VerifyContext, svc: string, out: Out) => Promise<string>;

export interface CheckDef {
  name: string;
  /** 'stack': runs once for the whole stack (service STACK), not per service. */
  scope?: 'stack';
  appliesTo?: (svc: string) => boolean;
  run: CheckFn;
}

/** The service column of a check that is about the stack, not one service. */
export const STACK = 'stack';

// ---------------------------------------------------------------------------------------------
// helpers

const q = JSON.stringify;
/** A query as people type it, in backticks. */
const code = (s: string) => `\`${s}\``;
const short = (s: string, n = 90) => (s.length > n ? s.slice(0, n - 1) + '…' : s);
const pct = (x: number) => `${Math.round(x * 100)}%`;

export function ds(ctx: VerifyContext, uid: string | undefined, what: string, type?: string): DatasourceSettings {
  const d = findDatasource(ctx.provisioning, uid);
  if (!d) throw new Fail(`no datasource uid=${uid ?? '(unset)'} in ${ctx.provisioning.source}`, `${what}: the datasource it points at is not provisioned`);
  if (type && d.type !== type) throw new Fail(`datasource ${d.uid} has type ${d.type}`, `${what} needs a datasource of type ${type}`);
  return d;
}

/** Provisioned text that lost its ${...} to Grafana's environment expansion (a single $ instead of $$). */
function eatenVariables(text: string): boolean {
  return /=""|\|= ""|\(""\)|\{\}/.test(text);
}

function formatValue(v: number, profileTypeId: string): string {
  const unit = profileTypeId.split(':')[2] ?? '';
  if (unit === 'nanoseconds') return `${(v / 1e9).toFixed(2)} s`;
  if (unit === 'bytes') return v >= 1 << 20 ? `${(v / (1 << 20)).toFixed(1)} MiB` : `${(v / 1024).toFixed(1)} KiB`;
  return String(v);
}

function describeTop(fg: FlameGraph, profileTypeId: string, n = 3): string {
  const top = topSelfFrames(fg, n);
  return `total ${formatValue(fg.total, profileTypeId)}; top self frames: ${top.map((t) => `${short(t.frame, 60)} ${pct(t.share)}`).join(', ') || 'none'}`;
}

const slowTraceMissing = (svc: string, searched: number, fetched: number) =>
  new Fail(
    searched === 0 ? `no /slow trace of ${svc} in Tempo (${code(slowQuery(svc))})` : `none of ${fetched} /slow trace ids of ${svc} could be fetched from Tempo`,
    searched === 0
      ? `no /slow requests traced for ${svc}: is the app running with its traffic generator on (TRAFFIC_GENERATOR=on), exporting traces through Alloy to Tempo?`
      : 'Tempo lists the traces in search but /api/v2/traces/<id> returns nothing: Tempo ingestion or storage problem',
  );

// ---------------------------------------------------------------------------------------------
// 0. the provisioning itself

const provisioningLint: CheckFn = async (ctx) => {
  const file = ctx.provisioningFile;
  const raw = existsSync(file) ? { file, text: readFileSync(file, 'utf8') } : undefined;
  const spans: Array<{ service: string; span: LinkSpan }> = [];
  const unsampled: string[] = [];
  for (const svc of ctx.services) {
    // a demo app's /slow span; for a service of your own, the span its trace->logs check opens
    const span = SERVICES.includes(svc) ? (await findSlowSpan(ctx, svc).catch(() => undefined))?.pick?.span : await byoLinkSpan(ctx, svc).catch(() => undefined);
    if (span) spans.push({ service: svc, span });
    else unsampled.push(svc);
  }
  let sent: string[] | undefined;
  let unreachable: UnreachableError | undefined;
  try {
    sent = (await ctx.pyro.profileTypes(ctx.window.startMs, ctx.window.endMs)).map((t) => t.id);
  } catch (err) {
    if (!(err instanceof UnreachableError)) throw err;
    unreachable = err;
  }
  const pyroscopeDown = unreachable?.message;
  const findings = lintProvisioning({ provisioning: ctx.provisioning, raw, sentProfileTypes: sent, spans });
  const notChecked = [
    ...(raw ? [] : [`single "$": ${file} not readable`]),
    ...(pyroscopeDown ? [`tracesToProfiles.profileTypeId: ${pyroscopeDown}`] : []),
    ...(unsampled.length > 0 ? [`span tags of ${unsampled.join(', ')}: no span could be read (see trace->logs)`] : []),
  ];
  if (findings.length > 0) {
    throw new Fail(
      `${findings.length} setting(s) Grafana accepts but that break a link: ${findings.map((f) => f.key).join(', ')}${notChecked.length ? `; not checked: ${notChecked.join('; ')}` : ''}`,
      findings.map((f) => f.message).join(' | '),
    );
  }
  // the profile types the apps send are unknown: no verdict on the whole
  if (unreachable) throw unreachable;
  const tempo = findDatasource(ctx.provisioning, ctx.uids.tempo);
  const tq = tempo && traceQueryOf(tempo);
  return [
    `${ctx.provisioning.source}: trace by id over ${tq?.timeShiftEnabled ? `[from - ${tq.spanStartTimeShift || '30m'}, to + ${tq.spanEndTimeShift || '30m'}]` : 'no bounds (traceQuery.timeShiftEnabled off)'}`,
    'every datasourceUid provisioned',
    `tracesToProfiles.profileTypeId among the ${sent!.length} types the apps send`,
    spans.length > 0 ? `logs query's span tags on spans of ${spans.map((x) => x.service).join(', ')}` : undefined,
    raw ? 'no single "$" before a Grafana variable' : undefined,
    ...(notChecked.length ? [`not checked: ${notChecked.join('; ')}`] : []),
  ]
    .filter(Boolean)
    .join('; ');
};

// 1. traces exist

const traces: CheckFn = async (ctx, svc, out) => {
  const query = `{ resource.service.name="${svc}" }`;
  out.link = links.traceqlLink(ctx.grafana, ctx.uids.tempo, query, ctx.window.startMs, ctx.window.endMs);
  const hits = await ctx.tempo.search(query, ctx.window.startMs, ctx.window.endMs, 20);
  if (hits.length === 0) {
    throw new Fail(
      `TraceQL ${code(query)}: no traces in the window`,
      `no traces of ${svc}: is the app running and exporting OTLP to Alloy (OTEL_EXPORTER_OTLP_ENDPOINT), and Alloy forwarding traces to Tempo? (search lags ~10 s behind ingest)`,
    );
  }
  const newest = [...hits].sort((a, b) => b.startMs - a.startMs)[0]!;
  return `TraceQL ${code(query)}: ${hits.length}${hits.length >= 20 ? '+' : ''} traces, newest ${newest.traceId} (${newest.rootServiceName}: ${newest.rootTraceName})`;
};

// 2. logs -> trace

// The derived field is an internal link (Loki's getDerivedFields): clicking it opens the Tempo query
// `${__value.raw}` over the range the log query shows, which Tempo's makeTraceIdRequest shifts by
// traceQuery (getTrace in context.ts).
const logsToTrace: CheckFn = async (ctx, svc, out) => {
  const loki = ds(ctx, ctx.uids.loki, 'Logs -> traces', 'loki');
  const df = tempoDerivedField(ctx.provisioning, loki);
  if (!df) {
    throw new Fail(
      `Loki datasource ${loki.uid}: ${derivedFields(loki).length} derived fields, none pointing to a Tempo datasource`,
      'no derived field links log lines to Tempo: add jsonData.derivedFields with matcherType label, matcherRegex trace_id, datasourceUid <tempo uid>',
    );
  }
  if (!df.url || !/\$\{?__value\.raw/.test(df.url)) {
    throw new Fail(
      `derived field ${q(df.name ?? '')} has url ${q(df.url ?? '')}`,
      'the derived field url must be ${__value.raw} (written $${__value.raw} in provisioning: Grafana expands a single $ as an environment variable)',
    );
  }
  const query = slowLogQuery(svc);
  out.link = links.lokiLink(ctx.grafana, loki.uid, query, ctx.window.startMs, ctx.window.endMs);
  const entries = await ctx.loki.queryRange(query, ctx.window, 10);
  if (entries.length === 0) {
    throw new Fail(`${query}: no log lines`, `no /slow request logs of ${svc} in Loki (see the seed-logql check for why)`);
  }
  const matcher = matcherOf(df);
  const ids: Array<{ id: string; entry: LogEntry }> = [];
  for (const e of entries) {
    const id = traceIdOf(df, e);
    if (id && !ids.some((x) => x.id === id)) ids.push({ id, entry: e });
  }
  if (ids.length === 0) {
    throw new Fail(
      `${entries.length} log lines, none with ${df.matcherType === 'label' ? `a label/structured metadata ${q(matcher)}` : `a match of /${matcher}/`}`,
      df.matcherType === 'label'
        ? `log records of ${svc} arrive without trace context: Loki stores an OTLP record's TraceId as structured metadata trace_id only if the app emits the log inside the request span (and limits_config.allow_structured_metadata is true)`
        : `the derived field regex ${q(matcher)} matches no log line`,
    );
  }
  for (const { id, entry } of ids) {
    const trace = await getTrace(ctx, id);
    if (trace) {
      const root = rootSpan(trace);
      out.link = links.traceLink(ctx.grafana, df.datasourceUid!, id, ctx.window.startMs, ctx.window.endMs);
      return `${code(query)}: log line "${short(logMessage(entry), 70)}" -> derived field ${q(df.name ?? matcher)} trace_id=${id} -> Tempo trace, ${trace.spans.length} spans (${root.serviceName}: ${root.name})`;
    }
  }
  throw new Fail(
    `trace ids of ${ids.length} log lines (e.g. ${ids[0]!.id}) not found in Tempo`,
    'the logs carry trace ids that Tempo does not have: traces not exported (or dropped by Alloy/Tempo), or logs and traces come from different SDK setups',
  );
};

// 3. trace -> logs

const traceToLogs: CheckFn = async (ctx, svc, out) => {
  const tempo = ds(ctx, ctx.uids.tempo, 'Traces -> logs', 'tempo');
  const tl = tracesToLogs(tempo);
  if (!tl?.datasourceUid) {
    throw new Fail(`Tempo datasource ${tempo.uid}: no tracesToLogsV2.datasourceUid`, 'tracesToLogsV2 missing in provisioning: Grafana shows no "Logs for this span" link');
  }
  const lokiDs = ds(ctx, tl.datasourceUid, 'tracesToLogsV2', 'loki');
  const found = await findSlowSpan(ctx, svc);
  if (!found.pick) throw slowTraceMissing(svc, found.searched, found.fetched);
  const { span } = found.pick;
  const lq = traceToLogsQuery(span, tl);
  if (!lq) {
    throw new Fail(
      `span ${span.spanId} has none of the tracesToLogsV2 tags (${(tl.tags ?? []).map((t) => t.key).join(', ') || 'defaults'})`,
      'Grafana shows no logs link for this span: map a tag the spans have (e.g. service.name -> service_name), or use a custom query',
    );
  }
  out.link = links.lokiLink(ctx.grafana, lokiDs.uid, lq.query, lq.range.fromMs, lq.range.toMs);
  if (lq.undefinedVariables.length > 0) {
    const missing = lq.undefinedVariables.join(', ');
    throw new Fail(
      `query ${code(lq.query)}: ${missing} undefined for span ${span.spanId}`,
      /tags\.job/.test(missing)
        ? `the span has no "job" attribute, so Grafana hides the logs link: Alloy must copy service.name into the resource attribute job (otelcol.processor.transform)`
        : `the span lacks ${missing}, so Grafana hides the logs link`,
    );
  }
  if (tl.customQuery && eatenVariables(lq.query)) {
    throw new Fail(
      `provisioned query became ${code(lq.query)}`,
      'the query lost its ${...} variables: Grafana expanded them as environment variables; write $${__span.traceId} etc. in the provisioning file',
    );
  }
  const range = clampToNow(ctx, lq.range.fromMs, lq.range.toMs);
  const entries = await ctx.loki.queryRange(lq.query, range, 10);
  const own = entries.filter((e) => e.line.includes(span.traceId) || entryLabel(e, 'trace_id') === span.traceId);
  if (own.length === 0) {
    throw new Fail(
      `${code(lq.query)} over span ${tl.spanStartTimeShift ?? '0'}/${tl.spanEndTimeShift ?? '0'}: ${entries.length} lines, none of trace ${span.traceId}`,
      entries.length > 0
        ? 'the query returns lines of other traces: keep the lines with the trace id in the line or in the structured metadata trace_id (where logs bridges put it), as the provisioned | regexp "(?P<line_trace_id>${__span.traceId})" | trace_id="${__span.traceId}" or line_trace_id="${__span.traceId}" does'
        : `no log line of trace ${span.traceId} in that window: the app's logs carry the trace id neither in the line nor as the record's trace context (structured metadata trace_id), their job label differs from the span's job tag, or spanStartTimeShift/spanEndTimeShift are too narrow (default 0)`,
    );
  }
  return `span ${span.name} (${span.spanId}) -> ${code(lq.query)} -> ${own.length} line(s): "${short(logMessage(own[0]!), 70)}"`;
};

// 4. trace -> metrics

const isErrorQuery = (query: string) => /STATUS_CODE_ERROR|status_code\s*=~?\s*"5|error/i.test(query);

const traceToMetrics: CheckFn = async (ctx, svc, out) => {
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

// 5. trace -> profiles

/** The provisioned tracesToProfiles settings, or a Fail naming what is missing. */
export function profileSettings(ctx: VerifyContext): { tp: TraceToProfilesOptions; pyroUid: string } {
  const tempo = ds(ctx, ctx.uids.tempo, 'Traces -> profiles', 'tempo');
  const tp = tracesToProfiles(tempo);
  if (!tp?.datasourceUid) {
    throw new Fail(`Tempo datasource ${tempo.uid}: no tracesToProfiles.datasourceUid`, 'tracesToProfiles missing in provisioning: Grafana shows no "Profiles for this span" button');
  }
  const pyroDs = ds(ctx, tp.datasourceUid, 'tracesToProfiles');
  if (pyroDs.type !== 'grafana-pyroscope-datasource') {
    throw new Fail(`datasource ${pyroDs.uid} has type ${pyroDs.type}`, 'Grafana links spans to profiles only for a datasource of type grafana-pyroscope-datasource');
  }
  if (!tp.profileTypeId) {
    throw new Fail(
      `Tempo datasource ${tempo.uid}: tracesToProfiles has no profileTypeId`,
      'tracesToProfiles.profileTypeId missing in provisioning: Grafana asks Pyroscope for an empty profile type and the span flame graph stays empty (set e.g. process_cpu:cpu:nanoseconds:cpu:nanoseconds)',
    );
  }
  return { tp, pyroUid: pyroDs.uid };
}

/** "Profiles for this span" for one span: the provisioned Pyroscope query, its link and its flame graph. */
async function spanFlameGraph(ctx: VerifyContext, span: Span, out: Out): Promise<{ fg: FlameGraph; pq: ProfileLinkQuery; what: string }> {
  const { tp, pyroUid } = profileSettings(ctx);
  const pq = traceToProfilesQuery(span, tp);
  out.link = links.profileLink(ctx.grafana, pyroUid, pq, pq.range.fromMs, pq.range.toMs);
  if (pq.undefinedVariables.length > 0) {
    throw new Fail(`profile query: ${pq.undefinedVariables.join(', ')} undefined for span ${span.spanId}`, 'none of the tracesToProfiles tags is on the span: map service.name -> service_name');
  }
  const range = clampToNow(ctx, pq.range.fromMs, pq.range.toMs);
  const fg = await ctx.pyro.flameGraph({ profileTypeId: pq.profileTypeId, labelSelector: pq.labelSelector, spanSelector: pq.spanSelector, startMs: range.startMs, endMs: range.endMs, maxNodes: 64 });
  return { fg, pq, what: `span ${span.name} pyroscope.profile.id=${pq.spanSelector[0]} ${pq.labelSelector} ${pq.profileTypeId}` };
}

/**
 * "Profiles for this span" on the span a person opens in this /slow trace of `svc`: its SERVER span of
 * /slow with pyroscope.profile.id (never a client span). A trace that starts at the service's own
 * CLIENT span (its traffic generator's call) gets its own cause.
 */
export async function traceProfile(ctx: VerifyContext, svc: string, trace: Trace, out: Out): Promise<string> {
  const { server, clientRoot } = profiledSpanOf(trace, svc, SLOW_ROUTE);
  if (!server && clientRoot) {
    const { fg, what } = await spanFlameGraph(ctx, clientRoot, out);
    throw new Fail(
      `trace ${trace.traceId}: root ${what} (a CLIENT span): ${fg.total > 0 ? `total ${fg.total}` : 'empty flame graph'}; no SERVER span of ${SLOW_ROUTE} with ${PROFILE_ID_TAG}`,
      `the trace starts at ${svc}'s own outgoing call (its traffic generator's HTTP client, traced and profiled as a local root): that thread only waits for the answer, so its flame graph shows none of the request's work, and the SERVER span of ${SLOW_ROUTE} below it has no ${PROFILE_ID_TAG}. Generated requests must start at the app's SERVER span, as a real caller's do (don't trace the generator's client)`,
    );
  }
  if (!server) {
    throw new Fail(
      `trace ${trace.traceId}: no SERVER span of ${svc} for ${SLOW_ROUTE} with attribute ${PROFILE_ID_TAG}`,
      `the span-profiles integration isn't active in ${svc} (Go: otelpyroscope.NewTracerProvider; Java: Pyroscope OTel extension; Python: PyroscopeSpanProcessor; Node: span_id labels)`,
    );
  }
  const { fg, pq, what } = await spanFlameGraph(ctx, server, out);
  if (fg.total <= 0) {
    const types = await ctx.pyro.profileTypes(ctx.window.startMs, ctx.window.endMs);
    if (!types.some((t) => t.id === pq.profileTypeId)) {
      throw new Fail(
        `${what}: empty flame graph`,
        `Pyroscope has no profile type ${pq.profileTypeId} (it has: ${types.map((t) => t.id).join(', ') || 'none'}): fix tracesToProfiles.profileTypeId`,
      );
    }
    const services = await ctx.pyro.labelValues('service_name', ctx.window.startMs, ctx.window.endMs);
    if (!services.includes(svc)) {
      throw new Fail(
        `${what}: empty flame graph`,
        `Pyroscope has no profiles of ${svc} (it has: ${services.join(', ') || 'none'}): the profiler isn't pushing to PYROSCOPE_SERVER_ADDRESS, or its application name differs from service.name`,
      );
    }
    const all = await ctx.pyro.flameGraph({ profileTypeId: pq.profileTypeId, labelSelector: pq.labelSelector, startMs: ctx.window.startMs, endMs: ctx.window.endMs, maxNodes: 64 });
    if (all.total <= 0) {
      throw new Fail(
        `${what}: empty flame graph`,
        `${svc} sends no ${pq.profileTypeId} profiles at all (other types only): tracesToProfiles has one profileTypeId for every service, so this service's spans link to an empty flame graph`,
      );
    }
    throw new Fail(
      `${what}: empty flame graph`,
      `Pyroscope has no samples labelled span_id=${pq.spanSelector[0]}: the profiler doesn't label samples with the span id, or the newest profiles aren't queryable yet (the first take minutes on a fresh Pyroscope)`,
    );
  }
  const top = topSelfFrames(fg, 3);
  const share = inclusiveShare(fg, REGEX_WORK);
  const evidence = `${what}: ${describeTop(fg, pq.profileTypeId)}; regex work ${pct(share)}`;
  if (!(top[0] && REGEX_WORK.test(top[0].frame)) && share < 0.5) {
    throw new Fail(evidence, `the span's flame graph isn't dominated by the regex work (checkEmail/regex engine): is REGEX_MODE=fixed on ${svc}, or do its samples lack the span_id label?`);
  }
  return evidence;
}

const traceToProfiles: CheckFn = async (ctx, svc, out) => {
  profileSettings(ctx);
  // the newest /slow trace with a span to follow: a profiled SERVER span, else a profiled CLIENT root (its own cause)
  const found = await findInSlowTraces(ctx, svc, (t) => profiledSpanOf(t, svc, SLOW_ROUTE).server);
  const pick = found.pick ?? (await findInSlowTraces(ctx, svc, (t) => profiledSpanOf(t, svc, SLOW_ROUTE).clientRoot)).pick ?? (await findSlowSpan(ctx, svc)).pick;
  if (!pick) throw slowTraceMissing(svc, found.searched, found.fetched);
  return traceProfile(ctx, svc, pick.trace, out);
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

const exemplars: CheckFn = async (ctx, svc, out) => {
  const { refs, evidence } = await exemplarRefs(ctx, svc, out);
  return `${evidence}, newest ${refs[0]!.traceId} (${refs[0]!.route})`;
};

// An exemplar's trace id is an internal link to the Tempo datasource, query `${__value.raw}` with
// queryType traceId (getDataLinks in packages/grafana-prometheus/src/result_transformer.ts), over
// the panel's range: the trace-by-id request of getTrace with verify's window.
const exemplarToTrace: CheckFn = async (ctx, svc, out) => {
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

const serviceGraph: CheckFn = async (ctx, svc, out) => {
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

// 8. the seed's own queries

const seedLogql: CheckFn = async (ctx, svc, out) => {
  const lokiUid = ctx.uids.loki;
  const qJob = `{job="${svc}"}`;
  const qErr = `{job="${svc}"} |= "error"`;
  const qSlow = slowLogQuery(svc);
  out.link = links.lokiLink(ctx.grafana, lokiUid, qSlow, ctx.window.startMs, ctx.window.endMs);
  const job = await ctx.loki.queryRange(qJob, ctx.window, 10);
  if (job.length === 0) {
    const labels = await ctx.loki.labels(ctx.window);
    if (!labels.includes('job')) {
      throw new Fail(
        `${qJob}: no lines; Loki labels: ${labels.join(', ') || 'none'}`,
        'no job label: Loki limits_config.otlp_config must index the resource attribute job (action: index_label), and Alloy must set job from service.name',
      );
    }
    const jobs = await ctx.loki.labelValues('job', ctx.window);
    throw new Fail(`${qJob}: no lines; job values: ${jobs.join(', ')}`, `no logs of ${svc}: the app isn't exporting logs over OTLP, or Alloy isn't forwarding them to Loki`);
  }
  const err = await ctx.loki.queryRange(qErr, ctx.window, 10);
  const slow = await ctx.loki.queryRange(qSlow, ctx.window, 10);
  if (slow.length === 0) {
    const jsonish = job.some((e) => e.line.trim().startsWith('{'));
    throw new Fail(
      `${qJob}: ${job.length} lines, ${qSlow}: none`,
      jsonish ? `no /slow requests of ${svc} in the window (traffic generator off?)` : `the log bodies of ${svc} aren't JSON with a "route" key, so ${code(qSlow)} matches nothing`,
    );
  }
  const n = (x: LogEntry[]) => `${x.length}${x.length >= 10 ? '+' : ''}`;
  return `${code(qJob)}: ${n(job)} lines; ${code(qErr)}: ${n(err)}${err.length === 0 ? ' (no error lines in the window)' : ''}; ${code(qSlow)}: ${n(slow)}`;
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
 * histogram without unit suffix, the metric under another job (namespace/name), or no metrics at all.
 */
export async function whyNoRate(ctx: VerifyContext, svc: string): Promise<string> {
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
  return `${HTTP_COUNT} has no series of ${svc} in the last 5m (jobs: ${jobs.join(', ') || 'none'}): ${svc} isn't exporting metrics (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_METRICS_EXPORTER), or has served no request`;
}

const seedPromql: CheckFn = async (ctx, svc, out) => {
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

/** Profile types the seed shows for its Go app (by name and sample type); the other apps need a CPU profile. */
const SEED_TYPES: Record<string, Array<{ name: string; sampleType: string }>> = {
  'demo-app': [
    { name: 'process_cpu', sampleType: 'cpu' },
    { name: 'memory', sampleType: 'alloc_space' },
    { name: 'memory', sampleType: 'inuse_space' },
  ],
};
const CPU_TYPE = { name: 'process_cpu', sampleType: 'cpu' };

/**
 * The seed's profile types for a service, chosen among the ids the service itself sends: two apps
 * can send the same name and sample type under different ids (Go's heap memory:inuse_space:…:space:bytes,
 * Node's memory:inuse_space:…:inuse_space:bytes), so a choice among every service's types is wrong.
 */
export function seedProfileTypes(svc: string, ownIds: string[]): Array<{ wanted: string; type?: ProfileType }> {
  const own = ownIds.map(parseProfileTypeId);
  return (SEED_TYPES[svc] ?? [CPU_TYPE]).map((w) => ({ wanted: `${w.name}:${w.sampleType}`, type: own.find((t) => t.name === w.name && t.sampleType === w.sampleType) }));
}

/** A service's flame graph of one profile type over the window: its total, a summary (type, total, top frame) and its link. */
async function windowProfile(ctx: VerifyContext, selector: string, t: ProfileType): Promise<{ total: number; summary: string; link: string }> {
  const fg = await ctx.pyro.flameGraph({ profileTypeId: t.id, labelSelector: selector, startMs: ctx.window.startMs, endMs: ctx.window.endMs, maxNodes: 64 });
  const top = topSelfFrames(fg, 1)[0];
  return {
    total: fg.total,
    summary: `${t.id} ${formatValue(fg.total, t.id)}${top ? `, top ${short(top.frame, 40)} ${pct(top.share)}` : ''}`,
    link: links.profileLink(ctx.grafana, ctx.uids.pyroscope, { profileTypeId: t.id, labelSelector: selector }, ctx.window.startMs, ctx.window.endMs),
  };
}

const seedProfiles: CheckFn = async (ctx, svc, out) => {
  const selector = serviceSelector(svc);
  const own = await ctx.pyro.profileTypesOf(svc, ctx.window.startMs, ctx.window.endMs);
  if (own.length === 0) {
    const services = await ctx.pyro.labelValues('service_name', ctx.window.startMs, ctx.window.endMs);
    throw new Fail(
      `Pyroscope has no series ${selector} (service_name values: ${services.join(', ') || 'none'})`,
      `no profiles of ${svc}: the profiler isn't pushing to PYROSCOPE_SERVER_ADDRESS, or its application name differs from the service name`,
    );
  }
  const chosen = seedProfileTypes(svc, own);
  const missing = chosen.filter((c) => !c.type);
  if (missing.length > 0) {
    throw new Fail(
      `no ${missing.map((m) => m.wanted).join(', ')} profile type among ${svc}'s own (it sends: ${own.join(', ')})`,
      missing.some((m) => m.wanted.startsWith('memory'))
        ? `${svc} pushes no ${missing.map((m) => m.wanted.split(':')[1]).join('/')} profiles: enable the alloc/inuse profile types in its Pyroscope SDK config`
        : `${svc} pushes no CPU profiles: start the profiler with CPU profiling on`,
    );
  }
  const parts: string[] = [];
  for (const { type } of chosen) {
    const p = await windowProfile(ctx, selector, type!);
    if (p.total <= 0) throw new Fail(`${type!.id}${selector}: empty flame graph`, `${svc} has no ${type!.sampleType} samples in the window`);
    if (parts.length === 0) out.link = p.link;
    parts.push(p.summary);
  }
  return parts.join('; ');
};

// ---------------------------------------------------------------------------------------------

export const CHECKS: CheckDef[] = [
  { name: 'provisioning', scope: 'stack', run: provisioningLint },
  { name: 'traces', run: traces },
  { name: 'logs->trace', run: logsToTrace },
  { name: 'trace->logs', run: traceToLogs },
  { name: 'trace->metrics', run: traceToMetrics },
  { name: 'trace->profile', run: traceToProfiles },
  { name: 'exemplars', run: exemplars },
  { name: 'exemplar->trace', run: exemplarToTrace },
  { name: 'service-graph', appliesTo: (svc) => svc in EDGES, run: serviceGraph },
  { name: 'seed-logql', run: seedLogql },
  { name: 'seed-promql', run: seedPromql },
  { name: 'seed-profiles', run: seedProfiles },
];

/** A check name as it must be typed in a shell: names with ">" need quotes, or the shell redirects. */
export const shellCheck = (name: string) => (/^[\w-]+$/.test(name) ? name : `'${name}'`);

/** What an error means for a check: its status, what was seen, and the most likely cause. */
export function explainError(err: unknown): { status: Status; evidence: string; cause: string } {
  if (err instanceof NotSetUp) return { status: 'not set up', evidence: err.evidence, cause: err.why };
  if (err instanceof Fail) return { status: 'fail', evidence: err.evidence, cause: err.why };
  if (err instanceof UnreachableError) {
    const viaGrafana = /\/api\/(datasources|ds)\//.test(err.url);
    return {
      status: 'unreachable',
      evidence: err.message,
      cause: viaGrafana
        ? `Grafana could not reach the backend (${err.detail}): is the stack up (lgtmp up) and healthy (lgtmp status)?`
        : /HTTP 503/.test(err.detail)
          ? `${err.backend} is not ready yet (Pyroscope needs about a minute after start): retry with --wait`
          : `${err.backend} does not answer (${err.detail}): is the stack up (lgtmp up)? For another address use ${err.flag}`,
    };
  }
  if (err instanceof HttpError) {
    return {
      status: 'fail',
      evidence: short(err.message, 300),
      cause:
        err.status === 404 && /\/api\/datasources\//.test(err.url)
          ? 'Grafana has no such datasource uid: provisioning not loaded'
          : err.status === 404
            ? `${err.backend} has no such API path: wrong base URL?${err.backend === 'Mimir' ? ' (Mimir serves the Prometheus API under /prometheus)' : ''}`
            : err.status === 400
              ? `${err.backend} rejected the query: ${short(err.body.trim(), 160)}`
              : `${err.backend} answered HTTP ${err.status}`,
    };
  }
  return { status: 'fail', evidence: err instanceof Error ? err.message : String(err), cause: 'unexpected error' };
}

export async function runCheck(ctx: VerifyContext, def: CheckDef, svc: string): Promise<CheckResult> {
  const out: Out = { link: '' };
  try {
    const evidence = await def.run(ctx, svc, out);
    return { check: def.name, service: svc, status: 'pass', evidence, link: out.link };
  } catch (err) {
    return { check: def.name, service: svc, ...explainError(err), link: out.link };
  }
}
