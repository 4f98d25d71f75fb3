// Built-in traffic generator (TRAFFIC_GENERATOR=on by default), so the stack has data without
// manual curls: it calls this app's own routes over HTTP, TRAFFIC_RPS requests per second at most,
// never more than TRAFFIC_CONCURRENCY at once, picking routes by the TRAFFIC_MIX weights.
// Its requests start from no active span, so they carry no traceparent and each one is the root
// of its own trace, as an outside client's request would be.

import type { TrafficRoute } from './config.js';

export const TRAFFIC_USER_AGENT = 'lgtmp-traffic-generator';

export interface TrafficGenerator {
  /** Requests sent so far. */
  readonly sent: number;
  stop(): Promise<void>;
}

export function pickRoute(mix: TrafficRoute[], random: number): TrafficRoute {
  const total = mix.reduce((sum, r) => sum + r.weight, 0);
  let point = random * total;
  for (const route of mix) {
    point -= route.weight;
    if (point < 0) return route;
  }
  return mix[mix.length - 1] as TrafficRoute;
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

  const tick = (): void => {
    if (stopped || inFlight >= o.concurrency) return;
    const route = pickRoute(o.mix, Math.random());
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
