// What every check gets: the clients, the provisioned settings, the time window, and memoized
// lookups shared between checks (a /slow trace of a service is fetched once, not per check).
import { seedQueries } from '../facts.js';
import type { DatasourceUids } from './config.js';
import type { LokiClient } from './loki.js';
import type { PrometheusClient } from './prometheus.js';
import { Fail } from './fail.js';
import { findDatasource, traceQueryOf, type Provisioning } from './provisioning.js';
import type { PyroscopeClient } from './pyroscope.js';
import { localRoots, traceBounds, type Span, type TempoClient, type Trace } from './tempo.js';
import { traceByIdRange } from './trace-query.js';

export interface VerifyContext {
  grafana: string;
  nowMs: number;
  window: { startMs: number; endMs: number };
  loki: LokiClient;
  tempo: TempoClient;
  prom: PrometheusClient;
  pyro: PyroscopeClient;
  provisioning: Provisioning;
  /** The provisioning file Grafana loads, as written (the lint reads its single "$"s). */
  provisioningFile: string;
  /** The services verify checks. */
  services: string[];
  uids: DatasourceUids;
  memo: Map<string, Promise<unknown>>;
}

export function memo<T>(ctx: VerifyContext, key: string, fn: () => Promise<T>): Promise<T> {
  let p = ctx.memo.get(key) as Promise<T> | undefined;
  if (!p) {
    p = fn();
    ctx.memo.set(key, p);
  }
  return p;
}

/** The context with its window moved to now (unless `pinnedNowMs`, --now, pins it) and nothing memoized: for a retry. */
export function freshWindow(ctx: VerifyContext, pinnedNowMs: number | undefined): VerifyContext {
  const nowMs = pinnedNowMs ?? Date.now();
  const span = ctx.window.endMs - ctx.window.startMs;
  return { ...ctx, nowMs, window: { startMs: nowMs - span, endMs: nowMs }, memo: new Map() };
}

/** A range clamped to "now": nothing after now exists yet, and Grafana's window may reach past it. */
export function clampToNow(ctx: VerifyContext, fromMs: number, toMs: number): { startMs: number; endMs: number } {
  const endMs = Math.min(toMs, ctx.nowMs);
  return { startMs: Math.min(fromMs, endMs - 1), endMs };
}

/**
 * A trace by id as Grafana fetches it for a person looking at `view` (default: the window verify
 * checks): with the start/end Grafana's traceQuery settings give (trace-query.ts). A trace Tempo
 * returns (from its live store) that lies outside that range is one Grafana stops finding once
 * Tempo flushes it to a block: that fails here, naming the setting.
 */
export function getTrace(ctx: VerifyContext, traceId: string, view = { fromMs: ctx.window.startMs, toMs: ctx.window.endMs }): Promise<Trace | undefined> {
  const tempo = findDatasource(ctx.provisioning, ctx.uids.tempo);
  const range = traceByIdRange(tempo && traceQueryOf(tempo), view);
  return memo(ctx, `trace:${traceId}:${range ? `${range.startSec}-${range.endSec}` : 'unbounded'}`, async () => {
    const trace = await ctx.tempo.trace(traceId, range);
    if (trace && range) {
      const t = traceBounds(trace);
      if (t.endMs < range.startSec * 1000 || t.startMs >= (range.endSec + 1) * 1000) {
        const iso = (ms: number) => new Date(ms).toISOString();
        throw new Fail(
          `trace ${traceId} (${iso(t.startMs)}) lies outside the range Grafana asks Tempo for: start=${range.startSec} end=${range.endSec} (${iso(range.startSec * 1000)} .. ${iso(range.endSec * 1000)})`,
          `Grafana asks for [from - traceQuery.spanStartTimeShift, to + traceQuery.spanEndTimeShift] (makeTraceIdRequest): Tempo still answers from its live store, but once it flushes the trace to a block the button says "trace not found". Fix traceQuery in ${ctx.provisioning.source}: both shifts positive, e.g. "30m"`,
        );
      }
    }
    return trace;
  });
}

/** The route whose requests carry the seed's slow work (checkEmail). */
export const SLOW_ROUTE = '/slow';

/** The seed's LogQL for a service's /slow request logs (its apps log JSON with a "route" key). */
export const slowLogQuery = seedQueries.slowLogs;
/** The seed's PromQL for a service's p95 latency by route. */
export const p95Query = seedQueries.p95ByRoute;

/** TraceQL for a service's /slow requests, by span name. */
export const slowQuery = (svc: string) => `{ resource.service.name="${svc}" && name="GET /slow" }`;
/** For instrumentations that name the span without the route (e.g. plain `GET`): route or path attributes. */
export const slowRouteQuery = (svc: string) =>
  `{ resource.service.name="${svc}" && (span.http.route="/slow" || span.url.path="/slow" || span.http.target=~"/slow.*") }`;

/** Trace ids of recent /slow requests of a service, newest first (by span name, else by http.route). */
export function slowTraceIds(ctx: VerifyContext, svc: string): Promise<string[]> {
  return memo(ctx, `slow:${svc}`, async () => {
    let hits = await ctx.tempo.search(slowQuery(svc), ctx.window.startMs, ctx.window.endMs, 20);
    if (hits.length === 0) hits = await ctx.tempo.search(slowRouteQuery(svc), ctx.window.startMs, ctx.window.endMs, 20);
    return hits.sort((a, b) => b.startMs - a.startMs).map((h) => h.traceId);
  });
}

export interface SpanPick {
  trace: Trace;
  span: Span;
  /** How many trace ids were looked up to find it. */
  tried: number;
}

/** The first /slow trace (newest first) in which `choose` finds a span. */
export async function findInSlowTraces(ctx: VerifyContext, svc: string, choose: (t: Trace) => Span | undefined): Promise<{ pick?: SpanPick; searched: number; fetched: number }> {
  const ids = await slowTraceIds(ctx, svc);
  let fetched = 0;
  for (const id of ids) {
    const trace = await getTrace(ctx, id);
    fetched++;
    if (!trace) continue;
    const span = choose(trace);
    if (span) return { pick: { trace, span, tried: fetched }, searched: ids.length, fetched };
  }
  return { searched: ids.length, fetched };
}

/** The first /slow trace (newest first) that has a local root span of `svc` matching `pred`. */
export const findSlowSpan = (ctx: VerifyContext, svc: string, pred: (s: Span) => boolean = () => true) => findInSlowTraces(ctx, svc, (t) => localRoots(t, svc).find(pred));
