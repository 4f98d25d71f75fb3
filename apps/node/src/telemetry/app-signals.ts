// The app's own signals, which it announces on Node.js diagnostics channels (it imports nothing from
// OpenTelemetry), turned into telemetry here:
// - the fault switches (FAULTS_CHANNEL) -> the gauge lgtmp.fault.active{fault=<kind>}, 1 while on;
// - the `latency` fault's delay (a tracing channel) -> its child span `injected_latency`.

import { subscribe, tracingChannel } from 'node:diagnostics_channel';
import { metrics, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import { INJECTED_LATENCY_SPAN } from '../fault-effects.js';
import { FAULT_KINDS, FAULTS_CHANNEL, type FaultsMessage } from '../faults.js';

export const FAULT_ACTIVE_METRIC = 'lgtmp.fault.active';

/** Subscribes to the app's channels; call once the SDK's providers are registered. */
export function reportAppSignals(scope: string): void {
  let faultsOn: FaultsMessage = Object.fromEntries(FAULT_KINDS.map((k) => [k, false])) as FaultsMessage;
  subscribe(FAULTS_CHANNEL, (message) => {
    faultsOn = message as FaultsMessage;
  });
  metrics
    .getMeter(scope)
    .createObservableGauge(FAULT_ACTIVE_METRIC, { description: 'Whether a fault switch is on (1) or off (0), by kind (attribute fault)' })
    .addCallback((result) => {
      for (const kind of FAULT_KINDS) result.observe(faultsOn[kind] ? 1 : 0, { fault: kind });
    });

  const tracer = trace.getTracer(scope);
  const spans = new WeakMap<object, Span>();
  const latency = tracingChannel<object, object>(INJECTED_LATENCY_SPAN);
  // `start` runs in the request's context, so the span is a child of the request's span.
  latency.start.subscribe((ctx) => spans.set(ctx as object, tracer.startSpan(INJECTED_LATENCY_SPAN)));
  latency.error.subscribe((ctx) => spans.get(ctx as object)?.setStatus({ code: SpanStatusCode.ERROR }));
  latency.asyncEnd.subscribe((ctx) => spans.get(ctx as object)?.end());
}
