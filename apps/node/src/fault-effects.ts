// What the `cpu` and `latency` faults do to a request (docs/fault-switches.md).
//
// The injected delay runs inside a diagnostics_channel tracing channel named after the span it
// becomes: the way Node.js libraries (undici, fastify) make their work traceable without depending
// on OpenTelemetry. The telemetry bootstrap subscribes to it and opens the child span
// `injected_latency` around the delay; without the bootstrap it is just a delay.

import { tracingChannel } from 'node:diagnostics_channel';
import { setTimeout as sleep } from 'node:timers/promises';

export const INJECTED_LATENCY_SPAN = 'injected_latency';

const latencyChannel = tracingChannel<object, object>(INJECTED_LATENCY_SPAN);

/** Waits `delayMs` without blocking the event loop, traced as the `injected_latency` span. */
export function injectLatency(delayMs: number): Promise<void> {
  return latencyChannel.tracePromise(() => sleep(delayMs), { delay_ms: delayMs });
}

/**
 * Spins the CPU for `workMs` of wall time on the request's thread: its own frame, `burnCpu`, in the
 * CPU flame graph. Returns a value computed in the loop, so the work cannot be optimised away.
 */
export function burnCpu(workMs: number): number {
  const end = performance.now() + workMs;
  let acc = 0;
  while (performance.now() < end) {
    for (let i = 1; i <= 10_000; i++) acc += Math.sqrt(i) % 1;
  }
  return acc;
}
