// `lgtmp verify --service <your service>`: the checks for any service the stack has seen, none
// assuming our demo routes or log format. Each reads the backends the way Grafana does (the
// provisioned settings, variables interpolated as the trace view does) and hands the data to the
// pure judgements of judge.ts, whose row it reports.
import { metrics } from '../../facts.js';
import { ds, profileSettings, serviceMapQuery, whyNoRate, type CheckDef, type CheckFn, type Out } from '../checks.js';
import { clampToNow, getTrace, memo, type VerifyContext } from '../context.js';
import { Fail, NotSetUp } from '../fail.js';
import { HttpError, UnreachableError } from '../http.js';
import * as links from '../links.js';
import { tempoDerivedField, tracesToLogs } from '../provisioning.js';
import { topSelfFrames } from '../pyroscope.js';
import type { CheckResult } from '../result.js';
import type { Span } from '../tempo.js';
import { traceToLogsQuery } from '../substitute.js';
import { hint, languageOf, type SdkLanguage } from './hints.js';
import * as judge from './judge.js';

/** How many of the service's traces are read (newest first), and how many ids tried to find them. */
const TRACES_READ = 3;
const IDS_TRIED = 60;

/** A judged row as a check's outcome: its evidence on pass, else the Fail or NotSetUp it reports. */
function settle(r: CheckResult): string {
  if (r.status === 'pass') return r.evidence;
  if (r.status === 'not set up') throw new NotSetUp(r.evidence, r.cause ?? '');
  throw new Fail(r.evidence, r.cause ?? '');
}

/** Trace ids a lookup may fail to give (a backend error is that check's own row, not this one's). */
async function optionalIds(lookup: () => Promise<string[]>): Promise<string[]> {
  try {
    return await lookup();
  } catch (err) {
    if (err instanceof HttpError || err instanceof UnreachableError) return [];
    throw err;
  }
}

const exemplarSeries = (ctx: VerifyContext, svc: string) => memo(ctx, `byo-exemplars:${svc}`, () => ctx.prom.exemplars(judge.exemplarQuery(svc), ctx.window.startMs, ctx.window.endMs));
const serviceLogs = (ctx: VerifyContext, svc: string) => memo(ctx, `byo-logs:${svc}`, async () => (await ctx.loki.queryRange(`{job="${svc}"}`, ctx.window, 10)).map(judge.logFromLoki));

/**
 * Spans of the service's newest traces Tempo returns by id: the ids of a TraceQL search for the
 * service, then of its exemplars and log lines (search lags ingest by ~10 s; by id it does not).
 * Every span of those traces, other services' included (the service graph needs the callers).
 */
export function serviceSpans(ctx: VerifyContext, svc: string): Promise<Span[]> {
  return memo(ctx, `byo-spans:${svc}`, async () => {
    const hits = await ctx.tempo.search(`{ resource.service.name="${svc}" }`, ctx.window.startMs, ctx.window.endMs, 20);
    const ids = [
      ...hits.sort((a, b) => b.startMs - a.startMs).map((h) => h.traceId),
      ...(await optionalIds(async () => judge.exemplarTraceIds(await exemplarSeries(ctx, svc)).map((x) => x.traceId))),
      ...(await optionalIds(async () => (await serviceLogs(ctx, svc)).map((l) => l.structuredMetadata['trace_id'] ?? '').filter(Boolean))),
    ];
    const spans: Span[] = [];
    let found = 0;
    for (const id of [...new Set(ids)].slice(0, IDS_TRIED)) {
      const trace = await getTrace(ctx, id);
      if (!trace?.spans.some((s) => s.serviceName === svc)) continue;
      spans.push(...trace.spans);
      if (++found >= TRACES_READ) break;
    }
    return spans;
  });
}

/** The service's SDK language: from its spans, else from target_info (every OTLP metrics export's series). */
export async function serviceLanguageOf(ctx: VerifyContext, svc: string): Promise<SdkLanguage | undefined> {
  const fromSpans = judge.serviceLanguage(svc, await serviceSpans(ctx, svc).catch(() => []));
  if (fromSpans) return fromSpans;
  const info = await memo(ctx, 'target_info', () => ctx.prom.query('target_info')).catch(() => []);
  return languageOf({ 'telemetry.sdk.language': info.find((s) => s.metric['job'] === svc)?.metric['telemetry_sdk_language'] });
}

/** Traces by id for `ids` (the first `max` distinct), as Grafana's links fetch them. */
async function tracesFor(ctx: VerifyContext, ids: string[], max = 20): Promise<Map<string, judge.SpanData[]>> {
  const m = new Map<string, judge.SpanData[]>();
  for (const id of [...new Set(ids)].slice(0, max)) {
    const t = await getTrace(ctx, id);
    if (t) m.set(id, t.spans);
  }
  return m;
}

/** The SERVER span of the service whose links the checks follow (the longest of its newest traces), as a Tempo span. */
export async function serverSpanOf(ctx: VerifyContext, svc: string): Promise<Span | undefined> {
  return judge.pickServerSpan(svc, await serviceSpans(ctx, svc));
}

const traces: CheckFn = async (ctx, svc, out) => {
  out.link = links.traceqlLink(ctx.grafana, ctx.uids.tempo, `{ resource.service.name="${svc}" }`, ctx.window.startMs, ctx.window.endMs);
  return settle(judge.judgeTraces(svc, await serviceSpans(ctx, svc)));
};

/** "Logs for this span" on the service's longest SERVER span: the span, the provisioned query and Loki's lines. */
function spanLogs(ctx: VerifyContext, svc: string): Promise<{ span?: judge.SpanData; query?: string; range?: { startMs: number; endMs: number }; lines: judge.LogData[] }> {
  return memo(ctx, `byo-span-logs:${svc}`, async () => {
    const span = await serverSpanOf(ctx, svc);
    const tl = tracesToLogs(ds(ctx, ctx.uids.tempo, 'Traces -> logs', 'tempo'));
    const lq = span && tl ? traceToLogsQuery(span, tl) : undefined;
    if (!span || !lq || lq.undefinedVariables.length > 0) return { span, lines: [] };
    const range = clampToNow(ctx, lq.range.fromMs, lq.range.toMs);
    return { span, query: lq.query, range, lines: (await ctx.loki.queryRange(lq.query, range, 10)).map(judge.logFromLoki) };
  });
}

// Lines of the service (newest first), then the lines of a span's logs: a line whose trace Tempo has.
const logsToTrace: CheckFn = async (ctx, svc, out) => {
  const loki = ds(ctx, ctx.uids.loki, 'Logs -> traces', 'loki');
  out.link = links.lokiLink(ctx.grafana, loki.uid, `{job="${svc}"}`, ctx.window.startMs, ctx.window.endMs);
  const lines = [...(await serviceLogs(ctx, svc)), ...(await spanLogs(ctx, svc)).lines];
  if (lines.length === 0) {
    // Loki indexes service_name by default: lines there but not under job missed Alloy's job attribute
    const byName = await ctx.loki.queryRange(`{service_name="${svc}"}`, ctx.window, 3);
    if (byName.length > 0) throw new Fail(`{job="${svc}"}: no lines, but {service_name="${svc}"} has some`, hint('job', await serviceLanguageOf(ctx, svc)));
  }
  const field = tempoDerivedField(ctx.provisioning, loki);
  const ids = field ? lines.map((l) => judge.traceIdOfLog(field, l)).filter((x): x is string => Boolean(x)) : [];
  return settle(judge.judgeLogsToTrace(svc, lines, await tracesFor(ctx, ids), field, await serviceLanguageOf(ctx, svc)));
};

const traceToLogs: CheckFn = async (ctx, svc, out) => {
  const tl = tracesToLogs(ds(ctx, ctx.uids.tempo, 'Traces -> logs', 'tempo'));
  const { span, query, range, lines } = await spanLogs(ctx, svc);
  if (query && range && tl?.datasourceUid) out.link = links.lokiLink(ctx.grafana, tl.datasourceUid, query, range.startMs, range.endMs);
  return settle(judge.judgeTraceToLogs(svc, span, tl, lines, await serviceLanguageOf(ctx, svc)));
};

const jobTag: CheckFn = async (ctx, svc, out) => {
  out.link = links.traceqlLink(ctx.grafana, ctx.uids.tempo, `{ resource.service.name="${svc}" && resource.job != nil }`, ctx.window.startMs, ctx.window.endMs);
  return settle(judge.judgeJobTag(svc, await serviceSpans(ctx, svc), await serviceLanguageOf(ctx, svc)));
};

const redMetrics: CheckFn = async (ctx, svc, out) => {
  const query = judge.redMetricsQuery(svc);
  out.link = links.promLink(ctx.grafana, ctx.uids.prometheus, query, ctx.window.startMs, ctx.window.endMs);
  const r = judge.judgeRedMetrics(svc, query, await ctx.prom.query(query), await serviceLanguageOf(ctx, svc));
  return settle(r.status === 'fail' ? { ...r, cause: await whyNoRate(ctx, svc, r.cause) } : r);
};

const spanMetrics: CheckFn = async (ctx, svc, out) => {
  out.link = links.promLink(ctx.grafana, ctx.uids.prometheus, `${metrics.spanCalls}{service="${svc}"}`, ctx.window.startMs, ctx.window.endMs);
  return settle(judge.judgeSpanMetrics(svc, await memo(ctx, 'spanmetrics-calls', () => ctx.prom.query(metrics.spanCalls))));
};

const exemplarToTrace: CheckFn = async (ctx, svc, out) => {
  out.link = links.promLink(ctx.grafana, ctx.uids.prometheus, `histogram_quantile(0.95, sum by (le) (rate(${judge.exemplarQuery(svc)}[5m])))`, ctx.window.startMs, ctx.window.endMs, true);
  const series = await exemplarSeries(ctx, svc);
  const known = await tracesFor(ctx, judge.exemplarTraceIds(series).map((x) => x.traceId));
  return settle(judge.judgeExemplars(svc, series, known, await serviceLanguageOf(ctx, svc)));
};

const traceToProfile: CheckFn = async (ctx, svc, out: Out) => {
  const { tp, pyroUid } = profileSettings(ctx);
  const spans = await serviceSpans(ctx, svc);
  const sendsProfiles = (await ctx.pyro.labelValues('service_name', ctx.window.startMs, ctx.window.endMs)).includes(svc);
  const span = judge.pickProfiledSpan(svc, spans);
  let flame: judge.SpanFlame | undefined;
  let sentProfileTypes: string[] | undefined;
  if (span && sendsProfiles) {
    const q = judge.spanProfileQuery(span, tp);
    out.link = links.profileLink(ctx.grafana, pyroUid, q, q.range.fromMs, q.range.toMs);
    const range = clampToNow(ctx, q.range.fromMs, q.range.toMs);
    const fg = await ctx.pyro.flameGraph({ profileTypeId: q.profileTypeId, labelSelector: q.labelSelector, spanSelector: q.spanSelector, startMs: range.startMs, endMs: range.endMs, maxNodes: 64 });
    flame = { spanId: span.spanId, profileTypeId: q.profileTypeId, total: fg.total, top: topSelfFrames(fg, 3) };
    if (fg.total <= 0) sentProfileTypes = await ctx.pyro.profileTypesOf(svc, ctx.window.startMs, ctx.window.endMs);
  }
  return settle(judge.judgeSpanProfile(svc, { spans, sendsProfiles, sentProfileTypes, flame, language: await serviceLanguageOf(ctx, svc) }));
};

// The edges Grafana's Service Graph tab draws for the window: its own query (serviceMapQuery).
const serviceGraph: CheckFn = async (ctx, svc, out) => {
  out.link = links.serviceMapLink(ctx.grafana, ctx.uids.tempo, ctx.window.startMs, ctx.window.endMs);
  const { expr, timeSec } = serviceMapQuery(ctx.window);
  const series = await memo(ctx, 'service-graph', () => ctx.prom.query(expr, timeSec));
  const edges = series.map((s) => ({ client: s.metric['client'] ?? '', server: s.metric['server'] ?? '' }));
  // its spans only tell "not set up" (no calls) from "fail" (calls, no edge): not needed when an edge names it
  if (edges.some((e) => e.client === svc || e.server === svc)) return settle(judge.judgeServiceGraph(svc, edges, []));
  return settle(judge.judgeServiceGraph(svc, edges, await serviceSpans(ctx, svc), await serviceLanguageOf(ctx, svc)));
};

/** The checks for a service that is not one of the demo apps (and, with --generic, for a demo app too). */
export const GENERIC_CHECKS: CheckDef[] = [
  { name: 'traces', run: traces },
  { name: 'logs->trace', run: logsToTrace },
  { name: 'trace->logs', run: traceToLogs },
  { name: 'job-tag', run: jobTag },
  { name: 'span-metrics', run: spanMetrics },
  { name: 'red-metrics', run: redMetrics },
  { name: 'exemplar->trace', run: exemplarToTrace },
  { name: 'trace->profile', run: traceToProfile },
  { name: 'service-graph', run: serviceGraph },
];
