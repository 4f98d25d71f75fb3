// The trace-by-id request Grafana sends when a person opens a trace by its id: a log line's
// TraceID button (Loki derived field), an exemplar dot, a trace id clicked in a search table.
// Mirrors Grafana v13.2.1 (GRAFANA_VERSION in .env):
// - public/app/plugins/datasource/tempo/datasource.ts, makeTraceIdRequest: with
//   traceQuery.timeShiftEnabled the range the person looks at becomes
//   [from - spanStartTimeShift, to + spanEndTimeShift] (each '30m' when unset); without it, 0..0;
// - pkg/tsdb/tempo/trace.go, performTraceRequest/createRequest: GET /api/v2/traces/<id> with
//   start/end as Unix seconds of that range (Go's Time.Unix), and no bounds when either is 0.
import { grafanaIntervalMs } from './grafana-interval.js';

export interface TraceQueryOptions {
  timeShiftEnabled?: boolean;
  spanStartTimeShift?: string;
  spanEndTimeShift?: string;
}

/** Grafana's default shift when traceQuery leaves one unset or empty. */
const DEFAULT_SHIFT = '30m';

export interface TraceByIdRange {
  /** Unix seconds, as Grafana's backend puts them in the query string. */
  startSec: number;
  endSec: number;
}

/** The start/end Grafana's trace-by-id request carries for the range [fromMs, toMs]; undefined: no bounds. */
export function traceByIdRange(traceQuery: TraceQueryOptions | undefined, view: { fromMs: number; toMs: number }): TraceByIdRange | undefined {
  if (!traceQuery?.timeShiftEnabled) return undefined;
  const fromMs = view.fromMs - grafanaIntervalMs(traceQuery.spanStartTimeShift || DEFAULT_SHIFT);
  const toMs = view.toMs + grafanaIntervalMs(traceQuery.spanEndTimeShift || DEFAULT_SHIFT);
  const startSec = Math.floor(fromMs / 1000);
  const endSec = Math.floor(toMs / 1000);
  return startSec === 0 || endSec === 0 ? undefined : { startSec, endSec };
}
