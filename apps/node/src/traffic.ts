// Built-in traffic generator (TRAFFIC_GENERATOR=on by default), so the stack has data without
// manual curls: it calls this app's own routes over HTTP, TRAFFIC_RPS requests per second at most,
// never more than TRAFFIC_CONCURRENCY at once, taking routes in the proportions of the TRAFFIC_MIX weights.
// Its requests start from no active span, so they carry no traceparent and each one is the root
// of its own trace, as an outside client's request would be.

import type { TrafficRoute } from './config.js';

export const TRAFFIC_USER_AGENT = 'lgtmp-traffic-generator';

export interface TrafficGenerator {
  /** Requests sent so far. */
  readonly sent: number;
  stop(): Promise<void>;
}

/**
 * Picks routes in proportion to their weights, spread evenly and in a fixed order (smooth weighted
 * round-robin, as nginx balances upstreams): with `slow=1,hello=20`, every 21 requests hold exactly
 * one /slow. A random pick would leave some minutes without a rare route; this way every route of
 * the mix, however light, shows up in every signal each cycle.
 */
export function routeRotation(mix: TrafficRoute[]): () => TrafficRoute {
  const total = mix.reduce((sum, r) => sum + r.weight, 0);
  const credit = mix.map(() => 0);
  return () => {
    let best = 0;
    mix.forEach((route, i) => {
      credit[i]! += route.weight;
      if (credit[i]! > credit[best]!) best = i;
    });
    credit[best]! -= total;
    return mix[best]!;
  };
}

export function startTrafficGenerator(o: {
  baseUrl: string;
  rps: number;
  concurrency: number;
  mix: TrafficRoute[];
  startDelayMs?: number;
  requestTimeoutMs?: number;
}): TrafficGenerator {
  const abort = new AbortController();
  let inFlight = 0;
  let sent = 0;
  let stopped = false;
  let idle: (() => void) | undefined;

  const nextRoute = routeRotation(o.mix);
  const tick = (): void => {
    if (stopped || inFlight >= o.concurrency) return;
    const route = nextRoute();
    inFlight++;
    sent++;
    const signal = AbortSignal.any([abort.signal, AbortSignal.timeout(o.requestTimeoutMs ?? 120_000)]);
    fetch(o.baseUrl + route.path, { headers: { 'user-agent': TRAFFIC_USER_AGENT }, signal })
      .then((res) => res.arrayBuffer())
      .catch(() => undefined) // errors are part of the demo; the server side logs them
      .finally(() => {
        inFlight--;
        if (inFlight === 0) idle?.();
      });
  };

  let interval: NodeJS.Timeout | undefined;
  const starter = setTimeout(() => {
    interval = setInterval(tick, Math.max(1, Math.round(1000 / o.rps)));
  }, o.startDelayMs ?? 1000);

  return {
    get sent() {
      return sent;
    },
    async stop() {
      stopped = true;
      clearTimeout(starter);
      if (interval !== undefined) clearInterval(interval);
      abort.abort();
      if (inFlight > 0) await new Promise<void>((resolve) => (idle = resolve));
    },
  };
}
