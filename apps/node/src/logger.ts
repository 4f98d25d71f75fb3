// Logging with pino, the logger the OpenTelemetry pino instrumentation knows: when the app runs
// under the bootstrap, that instrumentation adds `trace_id`/`span_id` of the active span to every
// record ("log correlation") and sends every record to the OpenTelemetry Logs SDK ("log sending"),
// whose OTLP exporter ships it with the span's trace context. The app itself imports nothing from
// OpenTelemetry: it only reads the `trace_id`/`span_id` fields if they are there.
//
// The request log's message is an object, so the OTLP log body is a map with the keys of the
// seed's log line: msg, route, method, status, duration_ms, trace_id, span_id (and level=error for
// 5xx). Loki renders a map body as a JSON line, so `{job="node-demo-app"} | json | route="/slow"`
// works as in the seed.

import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

export interface RequestLogFields {
  route: string;
  method: string;
  status: number;
  duration_ms: number;
}

/** Marks a record built by logRequest, so the formatter knows to complete it. */
const REQUEST_LOG = 'lgtmp.request';

function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/**
 * Completes a request log record once the trace fields are known (pino merges its mixins, the
 * OpenTelemetry one included, before it calls formatters.log).
 */
function formatRecord(record: Record<string, unknown>): Record<string, unknown> {
  const body = record['msg'];
  if (typeof body !== 'object' || body === null || !(REQUEST_LOG in body)) return record;
  const fields = body as RequestLogFields & { [REQUEST_LOG]: true };
  const traceId = str(record['trace_id']);
  const spanId = str(record['span_id']);
  const error = fields.status >= 500;
  const msg =
    `${error ? '[ERROR]' : '[OK]'} route=${fields.route} method=${fields.method} status=${fields.status} ` +
    `duration_ms=${fields.duration_ms} trace_id=${traceId} span_id=${spanId}`;
  return {
    ...record,
    msg: {
      msg,
      route: fields.route,
      method: fields.method,
      status: fields.status,
      duration_ms: fields.duration_ms,
      trace_id: traceId,
      span_id: spanId,
      ...(error ? { level: 'error' } : {}),
    },
  };
}

export function createLogger(destination?: DestinationStream): Logger {
  const options = { base: undefined, formatters: { log: formatRecord } };
  return destination === undefined ? pino(options) : pino(options, destination);
}

/** Writes the one request log line of a finished request. */
export function logRequest(logger: Logger, fields: RequestLogFields): void {
  const record = { msg: { ...fields, [REQUEST_LOG]: true } };
  if (fields.status >= 500) logger.error(record);
  else logger.info(record);
}
