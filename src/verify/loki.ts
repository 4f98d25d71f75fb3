// Loki query client. Asks for categorized labels (X-Loki-Response-Encoding-Flags) so stream
// labels, structured metadata (trace_id, span_id from OTLP) and parsed labels come apart; it
// also reads the plain format, where Loki merges them all into `stream`.
import { requestJson } from './http.js';

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
  constructor(readonly base: string) {}

  /** query_range for a log query; entries newest first. */
  async queryRange(query: string, range: LokiRange, limit = 10): Promise<LogEntry[]> {
    const res = await requestJson<StreamsResponse>('Loki', this.base, '/loki/api/v1/query_range', {
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
    const res = await requestJson<{ data?: string[] }>('Loki', this.base, '/loki/api/v1/labels', {
      params: { start: nsOf(range.startMs), end: nsOf(range.endMs) },
    });
    return res.data ?? [];
  }

  async labelValues(label: string, range: LokiRange): Promise<string[]> {
    const res = await requestJson<{ data?: string[] }>('Loki', this.base, `/loki/api/v1/label/${encodeURIComponent(label)}/values`, {
      params: { start: nsOf(range.startMs), end: nsOf(range.endMs) },
    });
    return res.data ?? [];
  }
}

/** A label as Grafana's log row sees it: structured metadata, parsed labels and stream labels alike. */
export function entryLabel(e: LogEntry, name: string): string | undefined {
  return e.structuredMetadata[name] ?? e.parsed[name] ?? e.stream[name];
}
