// Loki query client. Asks for categorized labels (X-Loki-Response-Encoding-Flags) so stream
// labels, structured metadata (trace_id, span_id from OTLP) and parsed labels come apart; it
// also reads the plain format, where Loki merges them all into `stream`.
import { requestJson, type Backend } from './http.js';
import type { DerivedField } from './provisioning.js';

export interface LogEntry {
  tsNs: string;
  line: string;
  stream: Record<string, string>;
  structuredMetadata: Record<string, string>;
  parsed: Record<string, string>;
}

export interface LokiRange {
  startMs: number;
  endMs: number;
}

interface StreamsResponse {
  status: string;
  data: {
    resultType: string;
    encodingFlags?: string[];
    result: Array<{
      stream: Record<string, string>;
      values: Array<[string, string, { structuredMetadata?: Record<string, string>; parsed?: Record<string, string> }?]>;
    }>;
  };
}

const nsOf = (ms: number) => `${BigInt(Math.floor(ms)) * 1_000_000n}`;

export class LokiClient {
  constructor(
    readonly base: string,
    readonly backend: Backend = { name: 'Loki', flag: '--loki-url' },
  ) {}

  /** query_range for a log query; entries newest first. */
  async queryRange(query: string, range: LokiRange, limit = 10): Promise<LogEntry[]> {
    const res = await requestJson<StreamsResponse>(this.backend, this.base, '/loki/api/v1/query_range', {
      params: { query, start: nsOf(range.startMs), end: nsOf(range.endMs), limit },
      headers: { 'X-Loki-Response-Encoding-Flags': 'categorize-labels' },
    });
    if (res.data.resultType !== 'streams') throw new Error(`Loki returned ${res.data.resultType} for a log query`);
    const entries: LogEntry[] = [];
    for (const s of res.data.result) {
      for (const [ts, line, meta] of s.values) {
        entries.push({
          tsNs: ts,
          line,
          stream: s.stream,
          structuredMetadata: meta?.structuredMetadata ?? {},
          parsed: meta?.parsed ?? {},
        });
      }
    }
    return entries.sort((a, b) => (BigInt(b.tsNs) > BigInt(a.tsNs) ? 1 : BigInt(b.tsNs) < BigInt(a.tsNs) ? -1 : 0));
  }

  async labels(range: LokiRange): Promise<string[]> {
    const res = await requestJson<{ data?: string[] }>(this.backend, this.base, '/loki/api/v1/labels', {
      params: { start: nsOf(range.startMs), end: nsOf(range.endMs) },
    });
    return res.data ?? [];
  }

  async labelValues(label: string, range: LokiRange): Promise<string[]> {
    const res = await requestJson<{ data?: string[] }>(this.backend, this.base, `/loki/api/v1/label/${encodeURIComponent(label)}/values`, {
      params: { start: nsOf(range.startMs), end: nsOf(range.endMs) },
    });
    return res.data ?? [];
  }
}

/** A label as Grafana's log row sees it: structured metadata, parsed labels and stream labels alike. */
export function entryLabel(e: LogEntry, name: string): string | undefined {
  return e.structuredMetadata[name] ?? e.parsed[name] ?? e.stream[name];
}

/** What a log line says: the "msg" of a JSON body, else the line itself. */
export function logMessage(e: LogEntry): string {
  try {
    const body = JSON.parse(e.line) as { msg?: unknown };
    if (typeof body.msg === 'string') return body.msg;
  } catch {
    /* plain text */
  }
  return e.line;
}

/** A derived field's label name or regex; unset, trace_id (the name Loki's OTLP endpoint gives the trace id). */
export const matcherOf = (field: DerivedField): string => field.matcherRegex ?? 'trace_id';

/**
 * The trace id a derived field reads from a log line: matcherType label reads a label
 * (structured metadata included); a regex (Grafana's default when matcherType is absent) yields
 * its first group, else its whole match. verify and tour both read trace ids with it.
 */
export function traceIdOf(field: DerivedField, e: LogEntry): string | undefined {
  const matcher = matcherOf(field);
  if ((field.matcherType ?? 'regex') === 'label') return entryLabel(e, matcher);
  const m = new RegExp(matcher).exec(e.line);
  return m ? (m[1] ?? m[0]) : undefined;
}
