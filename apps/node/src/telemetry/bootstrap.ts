// Zero-code telemetry for node-demo-app, loaded before the app with
//   node --import ./dist/telemetry/bootstrap.js dist/server.js
// The app's source imports nothing from here. Configured by the standard environment variables:
// OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, OTEL_EXPORTER_OTLP_ENDPOINT / _PROTOCOL / _HEADERS,
// OTEL_TRACES_EXPORTER / OTEL_METRICS_EXPORTER / OTEL_LOGS_EXPORTER, OTEL_BSP_*, OTEL_BLRP_*,
// OTEL_METRIC_EXPORT_INTERVAL, OTEL_NODE_ENABLED_INSTRUMENTATIONS / _DISABLED_INSTRUMENTATIONS,
// OTEL_SDK_DISABLED; Pyroscope: PYROSCOPE_SERVER_ADDRESS, PYROSCOPE_APPLICATION_NAME (default: the
// service name), PYROSCOPE_FLUSH_INTERVAL_MS, PYROSCOPE_WALL_COLLECT_CPU_TIME, PYROSCOPE_PROFILING
// (=false turns the profiler off).
//
// What it sets up:
// - the OpenTelemetry Node SDK with @opentelemetry/auto-instrumentations-node (http server and
//   client, Express (the route name only), undici/fetch with W3C propagation, pino log correlation and log sending,
//   runtime metrics, plus process CPU/memory metrics), OTLP exporters for traces, metrics, logs;
// - the app's own signals from its diagnostics channels: the fault gauge, the injected-latency span
//   (see app-signals.ts);
// - @pyroscope/nodejs (wall/CPU time and heap) with application name = service.name, its CPU time
//   uploaded as process_cpu like the other apps' (see process-cpu.ts);
// - span profiles: PyroscopeSpanProcessor + ProfilingContextManager (see that file).
// Exporting never blocks a request: spans, logs and metrics are batched and sent in the
// background, profiles are uploaded from a timer; an unreachable endpoint only costs failed
// background requests.

import { register } from 'node:module';
import { diag, DiagConsoleLogger, DiagLogLevel, SpanKind } from '@opentelemetry/api';
import { getNodeAutoInstrumentations } from '@opentelemetry/auto-instrumentations-node';
import { ExpressLayerType } from '@opentelemetry/instrumentation-express';
import { OTLPTraceExporter as OTLPTraceExporterJson } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OTLPTraceExporterProto } from '@opentelemetry/exporter-trace-otlp-proto';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor, type ReadableSpan, type Span, type SpanProcessor } from '@opentelemetry/sdk-trace';
import Pyroscope from '@pyroscope/nodejs';
import { createAddHookMessageChannel } from 'import-in-the-middle';
import { reportAppSignals } from './app-signals.js';
import { installProcessCpuUpload } from './process-cpu.js';
import { ProfilingContextManager, PyroscopeSpanProcessor } from './pyroscope-span-processor.js';

// ESM apps: let the instrumentations patch modules loaded with `import` (Express, pino...).
// Only the modules an instrumentation registered for are intercepted. (These imports are loaded
// before this runs; none of them is a module the instrumentations patch.)
const { registerOptions, waitForAllMessagesAcknowledged } = createAddHookMessageChannel();
register('import-in-the-middle/hook.mjs', import.meta.url, registerOptions);

const env = process.env;
const serviceName = env['OTEL_SERVICE_NAME']?.trim() || 'node-demo-app';

function envNumber(name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const n = Number(raw);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

function envList(name: string): string[] {
  return (env[name] ?? '')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== '');
}

/** The span export pipeline from OTEL_TRACES_EXPORTER and the OTLP protocol variables. */
function spanExportProcessors(): SpanProcessor[] {
  let names = envList('OTEL_TRACES_EXPORTER');
  if (names.length === 0) names = ['otlp'];
  if (names.includes('none')) return [];
  const processors: SpanProcessor[] = [];
  for (const name of names) {
    if (name === 'console') {
      processors.push(new SimpleSpanProcessor({ exporter: new ConsoleSpanExporter() }));
    } else if (name === 'otlp') {
      const protocol = (env['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL'] ?? env['OTEL_EXPORTER_OTLP_PROTOCOL'] ?? 'http/protobuf').trim();
      if (protocol !== 'http/protobuf' && protocol !== 'http/json') {
        diag.warn(`node-demo-app bootstrap: OTLP protocol ${protocol} not supported here, using http/protobuf`);
      }
      const exporter = protocol === 'http/json' ? new OTLPTraceExporterJson() : new OTLPTraceExporterProto();
      processors.push(
        new BatchSpanProcessor({
          exporter,
          maxQueueSize: envNumber('OTEL_BSP_MAX_QUEUE_SIZE'),
          scheduledDelayMillis: envNumber('OTEL_BSP_SCHEDULE_DELAY'),
          exportTimeoutMillis: envNumber('OTEL_BSP_EXPORT_TIMEOUT'),
          maxExportBatchSize: envNumber('OTEL_BSP_MAX_EXPORT_BATCH_SIZE'),
        }),
      );
    } else {
      diag.warn(`node-demo-app bootstrap: unsupported OTEL_TRACES_EXPORTER value ${name}`);
    }
  }
  return processors;
}

const logLevel = env['OTEL_LOG_LEVEL']?.trim().toUpperCase();
if (logLevel !== undefined && logLevel in DiagLogLevel) {
  diag.setLogger(new DiagConsoleLogger(), DiagLogLevel[logLevel as keyof typeof DiagLogLevel]);
}

// --- Profiles -------------------------------------------------------------------------------
const profilingEnabled = (env['PYROSCOPE_PROFILING'] ?? 'true').trim().toLowerCase() !== 'false';
let profilerStarted = false;
if (profilingEnabled) {
  try {
    Pyroscope.init({
      appName: env['PYROSCOPE_APPLICATION_NAME']?.trim() || serviceName,
      serverAddress: env['PYROSCOPE_SERVER_ADDRESS']?.trim() || undefined,
      // The SDK prefers these values over its environment variables, so only default them here.
      flushIntervalMs: env['PYROSCOPE_FLUSH_INTERVAL_MS'] === undefined ? 15_000 : undefined,
      wall: { collectCpuTime: env['PYROSCOPE_WALL_COLLECT_CPU_TIME'] === undefined ? true : undefined },
    });
    if (!(await installProcessCpuUpload())) {
      diag.warn('node-demo-app bootstrap: this @pyroscope/nodejs is not the one process-cpu.ts knows; CPU time stays in the wall profile (no process_cpu type)');
    }
    Pyroscope.start();
    profilerStarted = true;
  } catch (err) {
    diag.error('node-demo-app bootstrap: cannot start the Pyroscope profiler; continuing without profiles', err);
  }
}

const profileProcessor = new PyroscopeSpanProcessor({
  getLabels: () => (profilerStarted ? Pyroscope.getLabels() : {}),
  setLabels: (labels) => {
    if (profilerStarted) Pyroscope.setLabels(labels);
  },
});

// --- OpenTelemetry ----------------------------------------------------------------------------
/** Counts open SERVER spans (requests in flight), for the shutdown below. */
class ServerSpanCounter implements SpanProcessor {
  open = 0;
  onStart(span: Span): void {
    if (span.kind === SpanKind.SERVER) this.open++;
  }
  onEnd(span: ReadableSpan): void {
    if (span.kind === SpanKind.SERVER) this.open--;
  }
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}
const serverSpans = new ServerSpanCounter();

// The socket-level dns/net spans add little to a demo trace; the usual variable still rules.
if (env['OTEL_NODE_ENABLED_INSTRUMENTATIONS'] === undefined && env['OTEL_NODE_DISABLED_INSTRUMENTATIONS'] === undefined) {
  env['OTEL_NODE_DISABLED_INSTRUMENTATIONS'] = 'dns,net';
}

const sdk = new NodeSDK({
  serviceName,
  // Span profiles only when there is a profiler to label (else the standard context manager).
  ...(profilerStarted ? { contextManager: new ProfilingContextManager(profileProcessor) } : {}),
  spanProcessors: [...(profilerStarted ? [profileProcessor] : []), serverSpans, ...spanExportProcessors()],
  instrumentations: [
    getNodeAutoInstrumentations({
      // fetch() calls with no active span (the traffic generator, the profiler's uploads) start
      // no client span and carry no traceparent; /chain's call, made inside a request, does.
      '@opentelemetry/instrumentation-undici': { requireParentforSpans: true },
      // Express 5 routes through the `router` package, which both the express and the router
      // instrumentations patch: Express's alone names the route (http.route on the server span and its
      // name, `GET /slow`). Its per-layer spans are all ignored: a handler span only repeated the server
      // span (one more span per request to start, end and export), and without it a child span the
      // app's work opens (injected_latency) or a fetch is a direct child of the server span.
      '@opentelemetry/instrumentation-router': { enabled: false },
      '@opentelemetry/instrumentation-express': {
        ignoreLayersType: [ExpressLayerType.MIDDLEWARE, ExpressLayerType.ROUTER, ExpressLayerType.REQUEST_HANDLER],
      },
      // Process CPU and memory (process.memory.usage...) next to the runtime-node V8 heap metrics.
      '@opentelemetry/instrumentation-host-metrics': {
        enabled:
          !envList('OTEL_NODE_DISABLED_INSTRUMENTATIONS').includes('host-metrics') &&
          (env['OTEL_NODE_ENABLED_INSTRUMENTATIONS'] === undefined || envList('OTEL_NODE_ENABLED_INSTRUMENTATIONS').includes('host-metrics')),
        metricGroups: ['process.cpu', 'process.memory'],
      },
    }),
  ],
});

try {
  sdk.start();
  reportAppSignals(serviceName);
} catch (err) {
  diag.error('node-demo-app bootstrap: cannot start the OpenTelemetry SDK; the app runs without telemetry', err);
}
await waitForAllMessagesAcknowledged();

// --- Shutdown -----------------------------------------------------------------------------------
// On SIGTERM/SIGINT an app that handles the signal (like this one) stops accepting and finishes its
// requests; the telemetry is flushed once its servers are closed and no server span is still open
// (or when the event loop drains: 'beforeExit'), then the process ends. The profiler is stopped at
// once (uploading its last profile): its timer would keep the process alive. An app that does not
// handle the signal is flushed and ended right away, one that does not finish within
// SHUTDOWN_GRACE_MS anyway. A flush never takes more than FLUSH_TIMEOUT_MS, even when the
// endpoints are unreachable.
const SHUTDOWN_GRACE_MS = 8_000;
const FLUSH_TIMEOUT_MS = 3_000;
let flushed: Promise<void> | undefined;
function flush(): Promise<void> {
  flushed ??= (async () => {
    const work = Promise.allSettled([profilerStarted ? Pyroscope.stop() : Promise.resolve(), sdk.shutdown()]);
    profilerStarted = false;
    const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), FLUSH_TIMEOUT_MS).unref());
    const results = await Promise.race([work, timeout]);
    if (results === 'timeout') {
      diag.warn(`node-demo-app bootstrap: telemetry flush did not finish within ${FLUSH_TIMEOUT_MS} ms`);
      return;
    }
    for (const r of results) if (r.status === 'rejected') diag.error('node-demo-app bootstrap: flush failed', r.reason);
  })();
  return flushed;
}

function flushAndExit(): void {
  void flush().finally(() => process.exit(0));
}

function onSignal(signal: NodeJS.Signals): void {
  // Our `once` listener is already removed here: any listener left is the app's.
  if (process.listenerCount(signal) === 0) {
    flushAndExit();
    return;
  }
  if (profilerStarted) {
    profilerStarted = false;
    void Pyroscope.stop().catch(() => undefined);
  }
  const poll = setInterval(() => {
    if (serverSpans.open === 0 && !process.getActiveResourcesInfo().includes('TCPServerWrap')) {
      clearInterval(poll);
      flushAndExit();
    }
  }, 50);
  poll.unref();
  setTimeout(flushAndExit, SHUTDOWN_GRACE_MS).unref();
}
process.once('SIGTERM', onSignal);
process.once('SIGINT', onSignal);
process.once('beforeExit', () => void flush());
