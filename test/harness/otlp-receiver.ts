// In-process OTLP/HTTP receiver: POST /v1/traces, /v1/logs, /v1/metrics; protobuf and JSON; gzip.
// Bodies are decoded with the official OTLP .proto definitions (see protos.ts).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { gunzipSync } from 'node:zlib';
import protobuf from 'protobufjs';
import { prepareAlloyTransform, throughAlloy } from './alloy-transform.js';
import { otlpRoot } from './protos.js';
import { serveOnLoopback } from './loopback.js';

export interface ReceivedSpan {
  traceId: string; spanId: string; parentSpanId: string; name: string; kind: number;
  startTimeUnixNano: bigint; endTimeUnixNano: bigint; durationMs: number;
  attributes: Record<string, unknown>; resource: Record<string, unknown>; scope: string;
  status: { code: number; message: string };
}
/** opentelemetry.proto.trace.v1.Span.SpanKind SERVER and CLIENT. */
export const SPAN_KIND_SERVER = 2;
export const SPAN_KIND_CLIENT = 3;

/** The route a server span served, from the stable or older HTTP semantic conventions, or its name. */
export function spanRoute(s: ReceivedSpan): string {
  for (const k of ['http.route', 'url.path', 'http.target']) {
    const v = s.attributes[k];
    if (typeof v === 'string' && v) return v.split('?')[0]!;
  }
  return s.name;
}

/** Whether a span served `route`: as its route, or as its name (`GET /slow` serves `/slow`). */
export const servesRoute = (s: ReceivedSpan, route: string): boolean =>
  spanRoute(s) === route || spanRoute(s).endsWith(` ${route}`) || s.name === route || s.name.endsWith(` ${route}`);

export interface ReceivedLog {
  traceId: string; spanId: string; timeUnixNano: bigint; severityText: string; severityNumber: number;
  body: unknown; attributes: Record<string, unknown>; resource: Record<string, unknown>; scope: string;
}
export interface ReceivedMetric {
  name: string; unit: string; type: 'sum' | 'gauge' | 'histogram' | 'exponentialHistogram' | 'summary';
  resource: Record<string, unknown>;
  points: { attributes: Record<string, unknown>; exemplars: { traceId: string; spanId: string }[] }[];
}
export interface ReceivedRequest { signal: 'traces' | 'logs' | 'metrics'; contentType: string; contentEncoding: string; bytes: number; status: number; error?: string }
/** A log export as it arrived (after Alloy's transform, uncompressed, with throughAlloy): its Content-Type and Content-Encoding headers and body bytes. */
export interface CapturedLogRequest { contentType: string; contentEncoding: string; body: Buffer }
export interface OtlpReceiver {
  url: string;
  spans(): ReceivedSpan[];
  logs(): ReceivedLog[];
  /** The accepted log exports as sent, to replay into other programs' parsers (Loki's, in logs-link.test.ts). */
  logRequests(): CapturedLogRequest[];
  metrics(): ReceivedMetric[];
  close(): Promise<void>;
  /** Every request received (for diagnostics), including rejected ones. */
  requests(): ReceivedRequest[];
  /** Failures forwarding metrics to Prometheus (also logged to stderr). */
  forwardErrors(): string[];
  /** Successful forwards to Prometheus. */
  forwardedCount(): number;
  /** One-paragraph summary of what was received, for failure messages. */
  summary(): string;
}

const SIGNALS = {
  traces: 'opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest',
  logs: 'opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest',
  metrics: 'opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest',
} as const;
type Signal = keyof typeof SIGNALS;

// OTLP/JSON: these bytes fields are hex strings, not base64 (OTLP specification, JSON Protobuf Encoding).
const HEX_ID_FIELDS = new Set(['traceId', 'spanId', 'parentSpanId']);

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);

function snakeToCamel(s: string): string {
  return s.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

/** OTLP/JSON -> protobufjs plain object, guided by the message type (accepts lowerCamelCase and snake_case keys). */
function jsonToPlain(type: protobuf.Type, json: unknown, path: string): Obj {
  if (!isObj(json)) throw new Error(`${path}: expected an object for ${type.fullName}`);
  const out: Obj = {};
  for (const [key, value] of Object.entries(json)) {
    const field = type.fields[key] ?? type.fields[snakeToCamel(key)];
    if (!field || value === null) continue; // unknown fields must be ignored
    field.resolve();
    const conv = (v: unknown, p: string): unknown => {
      if (field.resolvedType instanceof protobuf.Type) return jsonToPlain(field.resolvedType, v, p);
      if (field.type === 'bytes') {
        if (typeof v !== 'string') throw new Error(`${p}: bytes field must be a string`);
        if (HEX_ID_FIELDS.has(field.name)) {
          if (!/^([0-9a-fA-F]{2})*$/.test(v)) throw new Error(`${p}: not a hex id: ${JSON.stringify(v)}`);
          return Buffer.from(v, 'hex');
        }
        return Buffer.from(v, 'base64');
      }
      return v;
    };
    if (field.repeated) {
      if (!Array.isArray(value)) throw new Error(`${path}.${key}: expected an array`);
      out[field.name] = value.map((v, i) => conv(v, `${path}.${key}[${i}]`));
    } else {
      out[field.name] = conv(value, `${path}.${key}`);
    }
  }
  return out;
}

const hex = (v: unknown): string => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : '');
const big = (v: unknown): bigint => {
  if (v === undefined || v === null || v === '') return 0n;
  return BigInt(String(v));
};
const num = (v: unknown): number => (v === undefined || v === null ? 0 : Number(v));
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const arr = (v: unknown): Obj[] => (Array.isArray(v) ? (v as Obj[]) : []);

export function anyValue(v: unknown): unknown {
  if (!isObj(v)) return undefined;
  if ('stringValue' in v) return v.stringValue;
  if ('boolValue' in v) return v.boolValue;
  if ('intValue' in v) {
    const b = BigInt(String(v.intValue));
    return b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b;
  }
  if ('doubleValue' in v) return Number(v.doubleValue);
  if ('arrayValue' in v) return arr((v.arrayValue as Obj | undefined)?.values).map(anyValue);
  if ('kvlistValue' in v) return attrs((v.kvlistValue as Obj | undefined)?.values);
  if ('bytesValue' in v) return v.bytesValue instanceof Uint8Array ? Buffer.from(v.bytesValue) : v.bytesValue;
  return undefined;
}

export function attrs(list: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kv of arr(list)) out[str(kv.key)] = anyValue(kv.value);
  return out;
}

function scopeName(s: unknown): string {
  return isObj(s) ? str(s.name) : '';
}

/**
 * prometheusUrl: forward metric exports there (as Alloy forwards them to Mimir).
 * throughAlloy: traces and logs are kept as Alloy's transform block hands them on (test/harness/alloy-transform.ts),
 * e.g. with the `job` resource attribute it derives from service.name, instead of as the SDK sent them.
 */
export async function startOtlpReceiver(opts: { prometheusUrl?: string; throughAlloy?: boolean } = {}): Promise<OtlpReceiver> {
  const root = await otlpRoot();
  if (opts.throughAlloy) await prepareAlloyTransform();
  const types = {
    traces: root.lookupType(SIGNALS.traces),
    logs: root.lookupType(SIGNALS.logs),
    metrics: root.lookupType(SIGNALS.metrics),
  };
  const spans: ReceivedSpan[] = [];
  const logs: ReceivedLog[] = [];
  const logRequests: CapturedLogRequest[] = [];
  const metrics: ReceivedMetric[] = [];
  const requests: ReceivedRequest[] = [];
  const forwardErrors: string[] = [];
  let forwarded = 0;
  let forwardChain: Promise<void> = Promise.resolve();

  const decode = (signal: Signal, contentType: string, raw: Buffer): Obj => {
    const T = types[signal];
    let msg: protobuf.Message;
    if (contentType === 'application/x-protobuf' || contentType === 'application/protobuf') {
      msg = T.decode(raw);
    } else if (contentType === 'application/json') {
      const plain = jsonToPlain(T, JSON.parse(raw.toString('utf8')), signal);
      msg = T.fromObject(plain);
    } else {
      throw new Error(`unsupported content type ${JSON.stringify(contentType)}`);
    }
    return T.toObject(msg, { longs: String, enums: Number, arrays: true, defaults: false }) as Obj;
  };

  const ingest = (signal: Signal, req: Obj): void => {
    if (signal === 'traces') {
      for (const rs of arr(req.resourceSpans)) {
        const resource = attrs((rs.resource as Obj | undefined)?.attributes);
        for (const ss of arr(rs.scopeSpans)) {
          const scope = scopeName(ss.scope);
          for (const s of arr(ss.spans)) {
            const start = big(s.startTimeUnixNano);
            const end = big(s.endTimeUnixNano);
            const st = isObj(s.status) ? s.status : {};
            spans.push({
              traceId: hex(s.traceId), spanId: hex(s.spanId), parentSpanId: hex(s.parentSpanId), name: str(s.name),
              kind: num(s.kind), startTimeUnixNano: start, endTimeUnixNano: end, durationMs: Number(end - start) / 1e6,
              attributes: attrs(s.attributes), resource, scope, status: { code: num(st.code), message: str(st.message) },
            });
          }
        }
      }
    } else if (signal === 'logs') {
      for (const rl of arr(req.resourceLogs)) {
        const resource = attrs((rl.resource as Obj | undefined)?.attributes);
        for (const sl of arr(rl.scopeLogs)) {
          const scope = scopeName(sl.scope);
          for (const l of arr(sl.logRecords)) {
            const t = big(l.timeUnixNano);
            logs.push({
              traceId: hex(l.traceId), spanId: hex(l.spanId), timeUnixNano: t !== 0n ? t : big(l.observedTimeUnixNano),
              severityText: str(l.severityText), severityNumber: num(l.severityNumber), body: anyValue(l.body),
              attributes: attrs(l.attributes), resource, scope,
            });
          }
        }
      }
    } else {
      for (const rm of arr(req.resourceMetrics)) {
        const resource = attrs((rm.resource as Obj | undefined)?.attributes);
        for (const sm of arr(rm.scopeMetrics)) {
          for (const m of arr(sm.metrics)) {
            const type = (['sum', 'gauge', 'histogram', 'exponentialHistogram', 'summary'] as const).find((k) => isObj(m[k]));
            if (!type) continue;
            const data = m[type] as Obj;
            metrics.push({
              name: str(m.name), unit: str(m.unit), type, resource,
              points: arr(data.dataPoints).map((p) => ({
                attributes: attrs(p.attributes),
                exemplars: arr(p.exemplars).map((e) => ({ traceId: hex(e.traceId), spanId: hex(e.spanId) })),
              })),
            });
          }
        }
      }
    }
  };

  const forward = (raw: Buffer, contentType: string, contentEncoding: string): Promise<void> => {
    const url = `${opts.prometheusUrl!.replace(/\/$/, '')}/api/v1/otlp/v1/metrics`;
    // Serialise forwards so Prometheus sees the cumulative points in order.
    forwardChain = forwardChain.then(async () => {
      try {
        const headers: Record<string, string> = { 'content-type': contentType };
        if (contentEncoding) headers['content-encoding'] = contentEncoding;
        const res = await fetch(url, { method: 'POST', headers, body: new Uint8Array(raw), signal: AbortSignal.timeout(15_000) });
        const text = await res.text();
        if (!res.ok) throw new Error(`HTTP ${res.status}: ${text.slice(0, 500)}`);
        forwarded++;
      } catch (e) {
        const msg = `forwarding metrics to ${url} failed: ${e instanceof Error ? e.message : String(e)}`;
        forwardErrors.push(msg);
        console.error(`[otlp-receiver] ${msg}`);
      }
    });
    return forwardChain;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '').split('?')[0] ?? '';
    const m = /^\/v1\/(traces|logs|metrics)\/?$/.exec(path);
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    if (req.method !== 'POST' || !m) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    const signal = m[1] as Signal;
    const contentType = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    const contentEncoding = String(req.headers['content-encoding'] ?? '').trim().toLowerCase();
    const record: ReceivedRequest = { signal, contentType, contentEncoding, bytes: body.length, status: 200 };
    requests.push(record);
    let decoded: Obj;
    try {
      let raw: Buffer = body;
      if (contentEncoding === 'gzip') raw = gunzipSync(body);
      else if (contentEncoding && contentEncoding !== 'identity') throw new Error(`unsupported content encoding ${contentEncoding}`);
      const viaAlloy = opts.throughAlloy && signal !== 'metrics';
      if (viaAlloy) raw = await throughAlloy(signal, raw, contentType === 'application/json');
      decoded = decode(signal, contentType, raw);
      ingest(signal, decoded);
      if (signal === 'logs') {
        logRequests.push(viaAlloy
          ? { contentType: req.headers['content-type'] ?? '', contentEncoding: '', body: raw }
          : { contentType: req.headers['content-type'] ?? '', contentEncoding: String(req.headers['content-encoding'] ?? ''), body });
      }
    } catch (e) {
      record.status = 400;
      record.error = e instanceof Error ? e.message : String(e);
      console.error(`[otlp-receiver] rejected ${signal} request: ${record.error}`);
      res.writeHead(400, { 'content-type': 'text/plain' }).end(record.error);
      return;
    }
    if (signal === 'metrics' && opts.prometheusUrl) await forward(body, req.headers['content-type'] ?? contentType, contentEncoding === 'identity' ? '' : contentEncoding);
    if (contentType === 'application/json') res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    else res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
  };

  const { server, url } = await serveOnLoopback(handle);

  return {
    url,
    spans: () => [...spans],
    logs: () => [...logs],
    logRequests: () => [...logRequests],
    metrics: () => [...metrics],
    requests: () => [...requests],
    forwardErrors: () => [...forwardErrors],
    forwardedCount: () => forwarded,
    summary: () => {
      const bySvc = (xs: { resource: Record<string, unknown> }[]): string => {
        const c = new Map<string, number>();
        for (const x of xs) { const k = String(x.resource['service.name'] ?? '?'); c.set(k, (c.get(k) ?? 0) + 1); }
        return [...c].map(([k, v]) => `${k}:${v}`).join(',') || 'none';
      };
      const rejected = requests.filter((r) => r.status !== 200);
      return `OTLP receiver ${url}: ${requests.length} requests (${rejected.length} rejected${rejected.length ? ': ' + rejected.slice(-3).map((r) => r.error).join(' | ') : ''}); ` +
        `spans ${spans.length} [${bySvc(spans)}] names ${[...new Set(spans.map((s) => s.name))].slice(0, 20).join(', ')}; ` +
        `logs ${logs.length} [${bySvc(logs)}]; metrics ${metrics.length} names ${[...new Set(metrics.map((x) => x.name))].slice(0, 30).join(', ')}; ` +
        `forwarded ${forwarded}, forward errors ${forwardErrors.length}${forwardErrors.length ? ': ' + forwardErrors.slice(-2).join(' | ') : ''}`;
    },
    close: async () => {
      await forwardChain;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
