// Loaded before the app: `node --import ./dist/telemetry.js dist/server.js`. Traces, metrics and logs over
// OTLP/HTTP (the Node SDK with every auto-instrumentation: http, express, pino...), profiles to Pyroscope with span
// profiles. Configured by environment variables only: OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES,
// OTEL_EXPORTER_OTLP_ENDPOINT (read by the SDK), PYROSCOPE_SERVER_ADDRESS (read by the profiler).
import { register } from 'node:module';
import { getNodeAutoInstrumentations } from '@opentelemetry/auto-instrumentations-node';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { ExpressLayerType } from '@opentelemetry/instrumentation-express';
import { NodeSDK, tracing } from '@opentelemetry/sdk-node';
import Pyroscope from '@pyroscope/nodejs';
import { createAddHookMessageChannel } from 'import-in-the-middle';
import { installProcessCpuUpload } from './process-cpu.js';
import { ProfilingContextManager, PyroscopeSpanProcessor } from './pyroscope-span-processor.js';

// ESM: let the instrumentations patch the modules the app loads with `import` (express, pino).
const { registerOptions, waitForAllMessagesAcknowledged } = createAddHookMessageChannel();
register('import-in-the-middle/hook.mjs', import.meta.url, registerOptions);

// Wall and CPU time; the CPU part is uploaded as process_cpu, the type "Profiles for this span" asks for.
Pyroscope.init({ appName: process.env['OTEL_SERVICE_NAME'], wall: { collectCpuTime: true } });
await installProcessCpuUpload();
Pyroscope.start();

// Span profiles: the root span gets pyroscope.profile.id, the samples taken while it runs its span_id label.
const spanProfiles = new PyroscopeSpanProcessor(Pyroscope);
const sdk = new NodeSDK({
  contextManager: new ProfilingContextManager(spanProfiles),
  // Given span processors, the SDK adds no exporter of its own: the OTLP one goes here too.
  spanProcessors: [spanProfiles, new tracing.BatchSpanProcessor(new OTLPTraceExporter())],
  instrumentations: [
    getNodeAutoInstrumentations({
      // Express names the route (http.route, span `GET /work`); its per-layer spans are off, so the route's own
      // spans and log records belong to the request's server span. Express 5 routes through `router`, whose
      // instrumentation would add those spans back.
      '@opentelemetry/instrumentation-express': { ignoreLayersType: [ExpressLayerType.MIDDLEWARE, ExpressLayerType.ROUTER, ExpressLayerType.REQUEST_HANDLER] },
      '@opentelemetry/instrumentation-router': { enabled: false },
      // fetch() outside a request (the profiler's uploads) starts no trace, nor do the sockets under it.
      '@opentelemetry/instrumentation-undici': { requireParentforSpans: true },
      '@opentelemetry/instrumentation-net': { enabled: false },
    }),
  ],
});
sdk.start();
await waitForAllMessagesAcknowledged();

// Flush the last spans, metrics, logs and profile before exiting.
process.once('SIGTERM', () => void Promise.allSettled([sdk.shutdown(), Pyroscope.stop()]).finally(() => process.exit(0)));
