// Tempo client: TraceQL search and trace by id (API v2), spans normalized with hex ids.
// Tempo 3 answers 200 with {"trace":{}} for an unknown id: trace() returns undefined then.
import { HttpError, requestJson, requestText, type Backend } from './http.js';
import type { LinkSpan } from './substitute.js';
import type { TraceByIdRange } from './trace-query.js';

export interface SearchHit {
  traceId: string;
  rootServiceName: string;
  rootTraceName: string;
  startMs: number;
  durationMs: number;
  spanIds: string[];
}

export interface Span extends LinkSpan {
  parentSpanId: string;
  kind: string;
  serviceName: string;
  startNs: bigint;
  endNs: bigint;
  durationMs: number;
  statusCode: string;
}

export interface Trace {
  traceId: string;
  spans: Span[];
}

interface OtlpAnyValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
  arrayValue?: { values?: OtlpAnyValue[] };
}
interface OtlpKV {
  key: string;
  value?: OtlpAnyValue;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind?: string;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes?: OtlpKV[];
  status?: { code?: string };
}
interface ResourceSpans {
  resource?: { attributes?: OtlpKV[] };
  scopeSpans?: Array<{ spans?: OtlpSpan[] }>;
}

export class TempoClient {
  constructor(
    readonly base: string,
    readonly backend: Backend = { name: 'Tempo', flag: '--tempo-url' },
  ) {}

  /** Resolves when Tempo answers /ready (throws UnreachableError otherwise). */
  async ready(): Promise<void> {
    await requestText(this.backend, this.base, '/ready', { timeoutMs: 5000 });
  }

  async search(q: string, startMs: number, endMs: number, limit = 20): Promise<SearchHit[]> {
    const res = await requestJson<{
      traces?: Array<{
        traceID: string;
        rootServiceName?: string;
        rootTraceName?: string;
        startTimeUnixNano?: string;
        durationMs?: number;
        spanSet?: { spans?: Array<{ spanID: string }> };
        spanSets?: Array<{ spans?: Array<{ spanID: string }> }>;
      }>;
    }>(this.backend, this.base, '/api/search', {
      params: { q, start: Math.floor(startMs / 1000), end: Math.ceil(endMs / 1000), limit },
    });
    return (res.traces ?? []).map((t) => ({
      traceId: normalizeHexId(t.traceID, 32),
      rootServiceName: t.rootServiceName ?? '',
      rootTraceName: t.rootTraceName ?? '',
      startMs: t.startTimeUnixNano ? Number(BigInt(t.startTimeUnixNano) / 1_000_000n) : 0,
      durationMs: t.durationMs ?? 0,
      spanIds: (t.spanSets ?? (t.spanSet ? [t.spanSet] : [])).flatMap((s) => (s.spans ?? []).map((x) => x.spanID)),
    }));
  }

  /** The values of a tag (e.g. resource.service.name) in spans of the range. */
  async tagValues(tag: string, startMs: number, endMs: number): Promise<string[]> {
    const res = await requestJson<{ tagValues?: Array<{ value?: string }> }>(this.backend, this.base, `/api/v2/search/tag/${encodeURIComponent(tag)}/values`, {
      params: { start: Math.floor(startMs / 1000), end: Math.ceil(endMs / 1000) },
    });
    return (res.tagValues ?? []).map((v) => v.value ?? '').filter(Boolean);
  }

  /**
   * The trace, or undefined when Tempo does not know it (200 with an empty trace, or 404). With a
   * range, Tempo searches only the blocks that overlap it (its live store answers regardless).
   */
  async trace(traceId: string, range?: TraceByIdRange): Promise<Trace | undefined> {
    let res: { trace?: { resourceSpans?: ResourceSpans[] }; batches?: ResourceSpans[] };
    try {
      res = await requestJson(this.backend, this.base, `/api/v2/traces/${encodeURIComponent(traceId)}`, { params: range && { start: range.startSec, end: range.endSec } });
    } catch (err) {
      if (err instanceof HttpError && err.status === 404) return undefined;
      throw err;
    }
    const batches = res.trace?.resourceSpans ?? res.batches ?? [];
    const spans = batches.flatMap(toSpans);
    return spans.length === 0 ? undefined : { traceId: normalizeHexId(traceId, 32), spans };
  }
}

/** Tempo trace ids in search results drop leading zeros; pad them back. */
export function normalizeHexId(id: string, len: number): string {
  return id.toLowerCase().padStart(len, '0');
}

/** OTLP JSON ids are base64 (protojson bytes); some producers use hex. */
export function idToHex(id: string | undefined, len: number): string {
  if (!id) return '';
  if (new RegExp(`^[0-9a-fA-F]{${len}}$`).test(id)) return id.toLowerCase();
  return Buffer.from(id, 'base64').toString('hex');
}

export function anyValue(v: OtlpAnyValue | undefined): unknown {
  if (!v) return undefined;
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.arrayValue) return (v.arrayValue.values ?? []).map(anyValue);
  return undefined;
}

const kvs = (list: OtlpKV[] | undefined) => Object.fromEntries((list ?? []).map((a) => [a.key, anyValue(a.value)]));

function toSpans(rs: ResourceSpans): Span[] {
  const resource = kvs(rs.resource?.attributes);
  const serviceName = String(resource['service.name'] ?? '');
  return (rs.scopeSpans ?? []).flatMap((ss) =>
    (ss.spans ?? []).map((s) => {
      const startNs = BigInt(s.startTimeUnixNano);
      const endNs = BigInt(s.endTimeUnixNano);
      return {
        traceId: idToHex(s.traceId, 32),
        spanId: idToHex(s.spanId, 16),
        parentSpanId: idToHex(s.parentSpanId, 16),
        name: s.name,
        kind: s.kind ?? '',
        serviceName,
        resource,
        attributes: kvs(s.attributes),
        startNs,
        endNs,
        startTimeUs: Number(startNs / 1000n),
        durationUs: Number((endNs - startNs) / 1000n),
        durationMs: Number(endNs - startNs) / 1e6,
        statusCode: s.status?.code ?? '',
      };
    }),
  );
}

/** The trace's first span start and last span end, in ms. */
export function traceBounds(trace: Trace): { startMs: number; endMs: number } {
  const starts = trace.spans.map((s) => Number(s.startNs / 1_000_000n));
  const ends = trace.spans.map((s) => Number(s.endNs / 1_000_000n));
  return { startMs: Math.min(...starts), endMs: Math.max(...ends) };
}

/** Local root spans of a service: spans of it whose parent is absent or belongs to another service. */
export function localRoots(trace: Trace, service: string): Span[] {
  const byId = new Map(trace.spans.map((s) => [s.spanId, s]));
  return trace.spans.filter((s) => s.serviceName === service && (!s.parentSpanId || byId.get(s.parentSpanId)?.serviceName !== service));
}

/** The trace's root span; a trace whose root has not arrived yet shows its first span instead. */
export function rootSpan(trace: Trace): Span {
  return trace.spans.find((s) => !s.parentSpanId) ?? trace.spans[0]!;
}

/** Tempo's JSON names span kinds SPAN_KIND_SERVER etc. */
export const isKind = (s: Span, kind: 'SERVER' | 'CLIENT') => s.kind === `SPAN_KIND_${kind}`;

/** A span that handles `route`: by http.route, else by a name "<METHOD> <route>" (the semantic conventions' span name). */
export const handlesRoute = (s: Span, route: string) => s.attributes['http.route'] === route || s.name.endsWith(` ${route}`);

/** The span attribute the Pyroscope span-profile integrations set on the spans they profile. */
export const PROFILE_ID_TAG = 'pyroscope.profile.id';

/**
 * The span whose "Profiles for this span" shows a request's work in `svc`: its outermost SERVER span
 * of `route` that carries pyroscope.profile.id. Never a CLIENT span: a trace that starts at the
 * service's own outgoing call (a traffic generator's client span, profiled by the agent as a local
 * root) has it only as `clientRoot`, whose thread merely waits for the answer.
 */
export function profiledSpanOf(trace: Trace, svc: string, route: string): { server?: Span; clientRoot?: Span } {
  // Grafana draws the button only for a span attribute (createSpanLink.tsx: span.tags, not process tags)
  const profiled = (s: Span) => s.attributes[PROFILE_ID_TAG] !== undefined;
  const servers = trace.spans.filter((s) => s.serviceName === svc && isKind(s, 'SERVER') && handlesRoute(s, route) && profiled(s)).sort((a, b) => (a.startNs < b.startNs ? -1 : a.startNs > b.startNs ? 1 : 0));
  const clientRoot = localRoots(trace, svc).find((s) => isKind(s, 'CLIENT') && profiled(s));
  return { server: servers[0], clientRoot };
}

/** A span tag as Grafana's span links see it: span attribute, else resource attribute. */
export function spanTag(s: Span, key: string): unknown {
  return s.attributes[key] ?? s.resource[key];
}
