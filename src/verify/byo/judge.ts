// The judgements of `lgtmp verify --service <your service>` as pure functions over telemetry: no
// backend, no route or log format of our demo apps assumed. `lgtmp verify` feeds them what
// Tempo, Loki, Mimir and Pyroscope return (verify/byo/checks.ts); a test feeds them what its
// in-process receivers captured. Each returns the CheckResult row verify prints.
//
// How to call it from a test (as test/examples.test.ts does): spans from the harness's OTLP receiver
// (ReceivedSpan satisfies SpanData), logs as Loki stores them (its own OTLP parsing and LogQL,
// test/harness/loki-oracle.ts: { line, labels, structuredMetadata } per entry), series and exemplars
// from the Prometheus peer through PrometheusClient, profiles from the profile receiver:
//
//   import * as judge from '../src/verify/byo/judge.js';
//   const traces = judge.tracesById(spans);
//   const links = judge.provisionedLinks();                      // the repository's datasources.yaml
//   const language = judge.serviceLanguage(svc, spans);          // telemetry.sdk.language
//   const rows = [
//     judge.judgeTraces(svc, spans),
//     judge.judgeLogsToTrace(svc, logs, traces, links.derivedField, language),
//     judge.judgeTraceToLogs(svc, serverSpan, links.tracesToLogs, linesTheQueryReturned, language),
//     judge.judgeJobTag(svc, spans, language),
//     judge.judgeRedMetrics(svc, judge.redMetricsQuery(svc), await prom.query(judge.redMetricsQuery(svc)), language),
//     judge.judgeExemplars(svc, await prom.exemplars(judge.exemplarQuery(svc), startMs, endMs), traces, language),
//     judge.judgeSpanProfile(svc, { spans, sendsProfiles, sentProfileTypes, flame, language }), // flame: of pickProfiledSpan's span
//     judge.judgeServiceGraph(svc, edges, spans, language),
//   ];
//
// Statuses: pass, fail (cause: what to add, for the service's language, from hints.ts) and
// `not set up` (the service sends nothing that link could use).
import { metrics, seedQueries } from '../../facts.js';
import { entryLabel, traceIdOf, type LogEntry } from '../loki.js';
import type { Sample, ExemplarSeries } from '../prometheus.js';
import { defaultProvisioningFile, readProvisioningFile, tempoDerivedField, tracesToLogs, tracesToProfiles, type DerivedField, type TraceToLogsOptions, type TraceToProfilesOptions } from '../provisioning.js';
import type { CheckResult } from '../result.js';
import { traceToLogsQuery, traceToProfilesQuery, type LinkSpan } from '../substitute.js';
import { hint, languageOf, RECORDS_NO_EXEMPLARS, type SdkLanguage } from './hints.js';

/** A span with its resource attributes, as Tempo returns it or an OTLP receiver decodes it. */
export interface SpanData {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  /** SERVER/CLIENT...: OTLP's number (2 server, 3 client), Tempo's "SPAN_KIND_SERVER", or "SERVER". */
  kind: number | string;
  attributes: Record<string, unknown>;
  resource: Record<string, unknown>;
  /** For the links' time ranges; absent (captured data), 0. */
  startTimeUs?: number;
  durationUs?: number;
  durationMs?: number;
}

/** A log entry as Loki stores it: the line, its stream labels and its structured metadata. */
export interface LogData {
  line: string;
  /** Stream labels: job (Alloy sets it from service.name), service_name. */
  labels: Record<string, string>;
  /** OTLP records' trace context arrives here as trace_id / span_id, with the record's attributes. */
  structuredMetadata: Record<string, string>;
}

/** A profile type id, e.g. process_cpu:cpu:nanoseconds:cpu:nanoseconds. */
export type ProfileTypeId = string;

/** "Profiles for this span": the flame graph of one span's samples under one profile type. */
export interface SpanFlame {
  spanId: string;
  profileTypeId: ProfileTypeId;
  /** Sum of the samples' values; 0 = empty flame graph. */
  total: number;
  /** Hottest self frames, share 0..1. */
  top: Array<{ frame: string; share: number }>;
}

export interface GraphEdge {
  client: string;
  server: string;
}

const SERVICE_NAME = 'service.name';
const PROFILE_ID_TAG = 'pyroscope.profile.id';
const code = (s: string) => `\`${s}\``;
const short = (s: string, n = 70) => (s.length > n ? s.slice(0, n - 1) + '…' : s);
const pct = (x: number) => `${Math.round(x * 100)}%`;

function row(check: string, service: string, status: CheckResult['status'], evidence: string, cause?: string): CheckResult {
  return { check, service, status, evidence, ...(cause ? { cause } : {}), link: '' };
}

const KIND_NAMES = ['UNSPECIFIED', 'INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'];
/** SERVER, CLIENT... whichever spelling the span came with. */
export function kindOf(s: Pick<SpanData, 'kind'>): string {
  return typeof s.kind === 'number' ? (KIND_NAMES[s.kind] ?? String(s.kind)) : s.kind.replace(/^SPAN_KIND_/, '');
}

export const spansOf = <T extends SpanData>(svc: string, spans: readonly T[]): T[] => spans.filter((s) => s.resource[SERVICE_NAME] === svc);

/** The language the service's SDK reports (telemetry.sdk.language), from any of its spans. */
export function serviceLanguage(svc: string, spans: readonly SpanData[]): SdkLanguage | undefined {
  for (const s of spansOf(svc, spans)) {
    const l = languageOf(s.resource);
    if (l) return l;
  }
  return undefined;
}

/** Spans grouped by trace id: the traces Tempo would return by id. */
export function tracesById(spans: readonly SpanData[]): Map<string, SpanData[]> {
  const m = new Map<string, SpanData[]>();
  for (const s of spans) m.set(s.traceId, [...(m.get(s.traceId) ?? []), s]);
  return m;
}

/** A Loki query result entry as LogData. */
export function logFromLoki(e: LogEntry): LogData {
  return { line: e.line, labels: { ...e.stream, ...e.parsed }, structuredMetadata: e.structuredMetadata };
}

const asEntry = (l: LogData): LogEntry => ({ tsNs: '0', line: l.line, stream: l.labels, structuredMetadata: l.structuredMetadata, parsed: {} });

/** The trace id Grafana's derived field reads from a log entry (lower case), if any. */
export const traceIdOfLog = (field: DerivedField, l: LogData): string | undefined => traceIdOf(field, asEntry(l))?.toLowerCase();

/** The correlation settings Grafana is provisioned with (the repository's datasources.yaml unless given). */
export interface ProvisionedLinks {
  derivedField?: DerivedField;
  tracesToLogs?: TraceToLogsOptions;
  tracesToProfiles?: TraceToProfilesOptions;
}

export function provisionedLinks(file = defaultProvisioningFile()): ProvisionedLinks {
  const provisioning = readProvisioningFile(file);
  const loki = provisioning.datasources.find((d) => d.type === 'loki');
  const tempo = provisioning.datasources.find((d) => d.type === 'tempo');
  return {
    derivedField: loki && tempoDerivedField(provisioning, loki),
    tracesToLogs: tempo && tracesToLogs(tempo),
    tracesToProfiles: tempo && tracesToProfiles(tempo),
  };
}

/** The span a person opens: the longest SERVER span of the service (slow requests are the ones investigated, and have the most profile samples). */
export function pickServerSpan<T extends SpanData>(svc: string, spans: readonly T[], pred: (s: T) => boolean = () => true): T | undefined {
  const dur = (s: SpanData) => s.durationUs ?? (s.durationMs ?? 0) * 1000;
  return spansOf(svc, spans)
    .filter((s) => kindOf(s) === 'SERVER' && pred(s))
    .sort((a, b) => dur(b) - dur(a))[0];
}

const asLinkSpan = (s: SpanData): LinkSpan => ({ ...s, startTimeUs: s.startTimeUs ?? 0, durationUs: s.durationUs ?? Math.round((s.durationMs ?? 0) * 1000) });

// ---------------------------------------------------------------------------------------------

/** traces: the service's spans exist (Tempo: TraceQL { resource.service.name="<svc>" }). */
export function judgeTraces(svc: string, spans: readonly SpanData[]): CheckResult {
  const own = spansOf(svc, spans);
  const lang = serviceLanguage(svc, spans);
  if (own.length === 0) return row('traces', svc, 'fail', `no span with resource service.name=${JSON.stringify(svc)}`, hint('traces', lang));
  const traces = new Set(own.map((s) => s.traceId)).size;
  const servers = own.filter((s) => kindOf(s) === 'SERVER');
  const names = [...new Set(servers.map((s) => s.name))].slice(0, 4);
  return row(
    'traces',
    svc,
    'pass',
    `${own.length} spans in ${traces} traces, ${servers.length} SERVER (${names.join(', ') || 'none'}); telemetry.sdk.language=${String(own[0]!.resource['telemetry.sdk.language'] ?? 'unset')}`,
  );
}

/**
 * logs->trace: a log line of the service carries a trace id (read as the provisioned derived field
 * reads it: a label such as structured metadata trace_id, or a regex over the line) that is a trace.
 * The evidence says where the id was: structured metadata (a logs bridge), the line, or both.
 */
export function judgeLogsToTrace(svc: string, logs: readonly LogData[], traces: ReadonlyMap<string, readonly SpanData[]>, field: DerivedField | undefined, language?: SdkLanguage): CheckResult {
  if (!field) return row('logs->trace', svc, 'fail', 'no derived field pointing to Tempo in the Loki datasource', 'provision jsonData.derivedFields (matcherType label, matcherRegex trace_id) pointing at the Tempo datasource uid');
  if (logs.length === 0) return row('logs->trace', svc, 'fail', `no log lines of ${svc}`, hint('logs', language));
  const withId = logs.map((l) => ({ l, id: traceIdOfLog(field, l) })).filter((x): x is { l: LogData; id: string } => Boolean(x.id));
  const matcher = `${field.matcherType === 'label' ? 'label' : 'regex'} ${field.matcherRegex ?? 'trace_id'}`;
  if (withId.length === 0) {
    return row('logs->trace', svc, 'fail', `${logs.length} log lines, none with a trace id for derived field ${JSON.stringify(field.name ?? '')} (${matcher})`, hint('logs', language));
  }
  const hit = withId.find((x) => traces.get(x.id)?.length);
  if (!hit) {
    return row('logs->trace', svc, 'fail', `trace ids of ${withId.length} log lines (e.g. ${withId[0]!.id}) are not traces in Tempo`, `the logs carry trace ids Tempo does not have: are the traces exported to the same stack (${hint('traces', language)})?`);
  }
  const inMeta = entryLabel(asEntry(hit.l), 'trace_id')?.toLowerCase() === hit.id;
  const inLine = hit.l.line.toLowerCase().includes(hit.id);
  const where = inMeta && inLine ? 'structured metadata trace_id and the line' : inMeta ? 'structured metadata trace_id only (a logs bridge; not in the line)' : 'the line only';
  return row('logs->trace', svc, 'pass', `log line "${short(hit.l.line)}" -> derived field ${JSON.stringify(field.name ?? '')} (${matcher}) trace_id=${hit.id}, in ${where} -> trace of ${traces.get(hit.id)!.length} spans`);
}

/**
 * trace->logs: "Logs for this span" on the span: the provisioned query as Grafana interpolates it,
 * and `returned` what it returned (Loki's answer; with no Loki, the service's captured logs) must
 * hold a line of the span's trace. Evidence says where the trace id is (line / structured metadata).
 */
export function judgeTraceToLogs(svc: string, span: SpanData | undefined, tl: TraceToLogsOptions | undefined, returned: readonly LogData[], language?: SdkLanguage): CheckResult {
  if (!span) return row('trace->logs', svc, 'fail', `no SERVER span of ${svc}`, `the link is on a request's span: ${hint('traces', language)}`);
  if (!tl?.datasourceUid) return row('trace->logs', svc, 'fail', 'no tracesToLogsV2 in the Tempo datasource', 'provision tracesToLogsV2: Grafana shows no "Logs for this span"');
  const q = traceToLogsQuery(asLinkSpan(span), tl);
  if (!q) return row('trace->logs', svc, 'fail', `span ${span.spanId} has none of the tracesToLogsV2 tags`, 'Grafana shows no logs link for this span');
  if (q.undefinedVariables.length > 0) {
    return row('trace->logs', svc, 'fail', `query ${code(q.query)}: ${q.undefinedVariables.join(', ')} undefined for span ${span.spanId}`, /tags\.job/.test(q.undefinedVariables.join()) ? hint('job', language) : 'the span lacks the tags the provisioned query uses, so Grafana hides the link');
  }
  const id = span.traceId.toLowerCase();
  const own = returned.filter((l) => l.line.toLowerCase().includes(id) || entryLabel(asEntry(l), 'trace_id')?.toLowerCase() === id);
  if (own.length === 0) {
    return row('trace->logs', svc, 'fail', `${code(q.query)}: ${returned.length} lines, none of trace ${id}`, `no log record of this request reached Loki with its trace id: ${hint('logs', language)}`);
  }
  const inLine = own.some((l) => l.line.toLowerCase().includes(id));
  return row('trace->logs', svc, 'pass', `span ${span.name} (${span.spanId}) -> ${code(q.query)} -> ${own.length} line(s) of trace ${id}, trace id in ${inLine ? 'the line' : 'structured metadata only'}: "${short(own[0]!.line)}"`);
}

/** job-tag: the service's spans carry the `job` tag the provisioned logs query reads (${__span.tags.job}). */
export function judgeJobTag(svc: string, spans: readonly SpanData[], language?: SdkLanguage): CheckResult {
  const own = spansOf(svc, spans);
  if (own.length === 0) return row('job-tag', svc, 'fail', `no span of ${svc}`, hint('traces', language));
  const job = own.map((s) => s.attributes['job'] ?? s.resource['job']).find((j) => j !== undefined);
  if (job === undefined) return row('job-tag', svc, 'fail', `none of ${own.length} spans has a job attribute`, hint('job', language));
  return row('job-tag', svc, 'pass', `spans carry job=${JSON.stringify(job)}${job === svc ? '' : ` (not the service name: Loki's job label must be the same)`}`);
}

/** The seed's request rate by route for a service (the RED metrics' source series). */
export const redMetricsQuery = (svc: string) => `sum by (http_route) (${seedQueries.requestRate(svc)})`;

/** red-metrics: http.server.request.duration under the service's job (`samples`: what `query` returned). */
export function judgeRedMetrics(svc: string, query: string, samples: readonly Sample[], language?: SdkLanguage): CheckResult {
  if (samples.length === 0) return row('red-metrics', svc, 'fail', `${code(query)}: no series`, hint('metrics', language));
  const routes = samples.map((s) => s.metric['http_route'] ?? '(no route)').sort();
  return row('red-metrics', svc, 'pass', `${code(query)}: ${samples.length} series (${routes.join(' ')})`);
}

/** span-metrics: Tempo's span metrics (traces_spanmetrics_calls_total) have series with service="<svc>". */
export function judgeSpanMetrics(svc: string, calls: readonly Sample[]): CheckResult {
  const own = calls.filter((s) => s.metric['service'] === svc);
  if (own.length === 0) {
    return row('span-metrics', svc, 'fail', `${metrics.spanCalls}: no series with service="${svc}" (${new Set(calls.map((s) => s.metric['service'])).size} other services)`, "Tempo's metrics-generator writes span metrics for every service whose traces it receives: they lag about a minute behind the traces");
  }
  const kinds = [...new Set(own.map((s) => s.metric['span_kind']?.replace(/^SPAN_KIND_/, '')))].join(', ');
  return row('span-metrics', svc, 'pass', `${metrics.spanCalls}{service="${svc}"}: ${own.length} series (span kinds ${kinds})`);
}

/** The service's duration histogram, whose exemplars Grafana draws on the p95 panel. */
export const exemplarQuery = (svc: string) => `${metrics.httpDuration}_bucket{job="${svc}"}`;

/** Trace ids of the exemplars (label trace_id from an OTLP SDK, traceID from Tempo's generator), newest first. */
export function exemplarTraceIds(series: readonly ExemplarSeries[]): Array<{ traceId: string; label: string; timestampMs: number }> {
  return series
    .flatMap((s) => s.exemplars.flatMap((e) => ['trace_id', 'traceID'].filter((k) => e.labels[k]).map((label) => ({ traceId: e.labels[label]!.toLowerCase().padStart(32, '0'), label, timestampMs: e.timestampMs }))))
    .sort((a, b) => b.timestampMs - a.timestampMs);
}

/** exemplar->trace: the service's own exemplars resolve to traces; `not set up` for an SDK that records none. */
export function judgeExemplars(svc: string, series: readonly ExemplarSeries[], traces: ReadonlyMap<string, readonly SpanData[]>, language?: SdkLanguage): CheckResult {
  const ids = exemplarTraceIds(series);
  if (ids.length === 0) {
    if (language && RECORDS_NO_EXEMPLARS.includes(language)) return row('exemplar->trace', svc, 'not set up', `no exemplars on ${svc}'s histogram`, hint('exemplars', language));
    return row('exemplar->trace', svc, 'fail', `no exemplars on ${svc}'s histogram (${series.length} series)`, `${hint('exemplars', language)}; Mimir keeps them with limits.max_global_exemplars_per_user > 0 (stack/mimir)`);
  }
  const hit = ids.find((x) => traces.get(x.traceId)?.length);
  if (!hit) return row('exemplar->trace', svc, 'fail', `none of ${ids.length} exemplar trace ids (e.g. ${ids[0]!.traceId}) is a trace in Tempo`, `exemplars point at traces Tempo does not have: ${hint('traces', language)}`);
  return row('exemplar->trace', svc, 'pass', `${ids.length} exemplars; ${hit.label}=${hit.traceId} -> trace of ${traces.get(hit.traceId)!.length} spans`);
}

/** The span "Profiles for this span" is on: a SERVER span of the service carrying pyroscope.profile.id. */
export const pickProfiledSpan = <T extends SpanData>(svc: string, spans: readonly T[]) => pickServerSpan(svc, spans, (s) => s.attributes[PROFILE_ID_TAG] !== undefined);

/** The provisioned Pyroscope query of "Profiles for this span" on `span` (profile type, label and span selectors). */
export const spanProfileQuery = (span: SpanData, tp: TraceToProfilesOptions) => traceToProfilesQuery(asLinkSpan(span), tp);

/**
 * trace->profile: `not set up` when the service sends no profiles and no span has pyroscope.profile.id;
 * else "Profiles for this span" on its SERVER span must give a non-empty flame graph (`flame`: the
 * samples of the provisioned profile type labelled with that span's id). `sentProfileTypes`, when
 * known, names the cause of an empty one.
 */
export function judgeSpanProfile(
  svc: string,
  o: { spans: readonly SpanData[]; sendsProfiles: boolean; sentProfileTypes?: readonly ProfileTypeId[]; flame?: SpanFlame; language?: SdkLanguage },
): CheckResult {
  const language = o.language ?? serviceLanguage(svc, o.spans);
  const span = pickProfiledSpan(svc, o.spans);
  if (!o.sendsProfiles && !span) {
    return row('trace->profile', svc, 'not set up', `no profiles of ${svc} and no span with ${PROFILE_ID_TAG}`, `${hint('profiles', language)}; then ${hint('span-profiles', language)}`);
  }
  if (!o.sendsProfiles) return row('trace->profile', svc, 'fail', `spans carry ${PROFILE_ID_TAG} but no profiles of ${svc} arrived`, hint('profiles', language));
  const types = o.sentProfileTypes ? ` (${o.sentProfileTypes.join(', ')})` : '';
  if (!span) return row('trace->profile', svc, 'fail', `${svc} sends profiles${types} but no SERVER span carries ${PROFILE_ID_TAG}`, hint('span-profiles', language));
  const f = o.flame;
  const what = `span ${span.name} ${PROFILE_ID_TAG}=${String(span.attributes[PROFILE_ID_TAG])}`;
  if (!f || f.total <= 0) {
    const type = f?.profileTypeId ?? '(no profile type)';
    const otherTypesOnly = o.sentProfileTypes && !o.sentProfileTypes.includes(type);
    return row(
      'trace->profile',
      svc,
      'fail',
      `${what}: empty flame graph under ${type}`,
      otherTypesOnly ? `${svc} sends no ${type} profiles (it sends ${o.sentProfileTypes!.join(', ')}): ${hint('profiles', language)}` : `no samples labelled with this span's id: ${hint('span-profiles', language)}`,
    );
  }
  return row('trace->profile', svc, 'pass', `${what} -> ${f.profileTypeId}, total ${f.total}; top self frames: ${f.top.map((t) => `${short(t.frame, 50)} ${pct(t.share)}`).join(', ') || 'none'}`);
}

/** Tempo's service graph names a root span's caller `user` (a virtual node, not a service). */
const VIRTUAL_CLIENT = 'user';

/**
 * service-graph: edges to or from the service. `not set up` when it neither calls (no CLIENT span) nor
 * is called (no SERVER span whose parent is another service's span) and no edge exists.
 */
export function judgeServiceGraph(svc: string, edges: readonly GraphEdge[], spans: readonly SpanData[], language?: SdkLanguage): CheckResult {
  const own = edges.filter((e) => (e.client === svc || e.server === svc) && e.client !== VIRTUAL_CLIENT);
  if (own.length > 0) return row('service-graph', svc, 'pass', `edges: ${[...new Set(own.map((e) => `${e.client} -> ${e.server}`))].sort().join(', ')}`);
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  const mine = spansOf(svc, spans);
  const calls = mine.some((s) => kindOf(s) === 'CLIENT');
  const called = mine.some((s) => kindOf(s) === 'SERVER' && s.parentSpanId && byId.get(s.parentSpanId) && byId.get(s.parentSpanId)!.resource[SERVICE_NAME] !== svc);
  if (!calls && !called) return row('service-graph', svc, 'not set up', `no edge of ${svc}, and its spans show no call to or from another service`, `the service graph draws calls between services: ${hint('calls', language)}`);
  return row('service-graph', svc, 'fail', `its spans show ${calls ? 'outgoing calls (CLIENT spans)' : 'calls from another service'} but the service graph has no edge of ${svc}`, "Tempo's service-graphs processor pairs a CLIENT span with the callee's SERVER span: both services must send traces, and the callee's SERVER span must be the CLIENT span's child (W3C traceparent)");
}
