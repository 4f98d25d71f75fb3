// What a service of your own must add for each link, per language: the package, env var or setting,
// named as docs/instrument-your-app.md and the demo apps (apps/<lang>) ship them. The one table the
// causes of `lgtmp verify --service <your service>` come from; test/byo.test.ts checks every anchor
// it links exists.

/** OpenTelemetry's telemetry.sdk.language values we have recipes for. */
export const SDK_LANGUAGES = ['go', 'java', 'python', 'nodejs'] as const;
export type SdkLanguage = (typeof SDK_LANGUAGES)[number];

/** The pieces a link needs from the service itself. */
export type Piece = 'traces' | 'logs' | 'job' | 'metrics' | 'exemplars' | 'profiles' | 'span-profiles' | 'calls';

/** The README section on services of your own. */
export const README_SECTION = 'README.md#bring-your-own-service';

/** Each language's recipe, one link away from the README section. */
export const GUIDE: Record<SdkLanguage, string> = {
  go: 'docs/instrument-your-app.md#instrument-your-own-go-app',
  java: 'docs/instrument-your-app.md#instrument-your-own-java-app',
  python: 'docs/instrument-your-app.md#instrument-your-own-python-app',
  nodejs: 'docs/instrument-your-app.md#instrument-your-own-nodejs-app',
};

/** The language of a service, from the resource attribute every OpenTelemetry SDK sets. */
export function languageOf(resource: Record<string, unknown> | undefined): SdkLanguage | undefined {
  const v = resource?.['telemetry.sdk.language'];
  return (SDK_LANGUAGES as readonly unknown[]).includes(v) ? (v as SdkLanguage) : undefined;
}

const ANY: Record<Piece, string> = {
  traces: 'set OTEL_SERVICE_NAME to this name and OTEL_EXPORTER_OTLP_ENDPOINT=http://alloy:4318 (http://localhost:4318 from the host), with the OpenTelemetry SDK of its language exporting traces',
  logs: "export its log records over OTLP from inside the request (a logs bridge sends the span's trace id with each record; Loki keeps it as structured metadata trace_id)",
  job: 'send through Alloy (OTEL_EXPORTER_OTLP_ENDPOINT=http://alloy:4318, not Tempo or Loki directly): Alloy copies service.name into the job attribute the logs link and the seed queries use; or set OTEL_RESOURCE_ATTRIBUTES=job=<name>',
  metrics: 'export metrics over OTLP (OTEL_METRICS_EXPORTER=otlp) with an instrumented HTTP server, so http.server.request.duration (seconds) reaches Mimir',
  exemplars: "keep the SDK's default exemplar filter (OTEL_METRICS_EXEMPLAR_FILTER=trace_based) and record the request metric inside the request span",
  profiles: 'push profiles to PYROSCOPE_SERVER_ADDRESS=http://alloy:9999 (http://localhost:9999 from the host) with the application name equal to service.name',
  'span-profiles': "add the Pyroscope span-profile integration, which sets pyroscope.profile.id on the request's span and labels its samples span_id",
  calls: 'instrument the HTTP client too, so outgoing calls carry W3C traceparent and appear as CLIENT spans',
};

const BY_LANGUAGE: Record<SdkLanguage, Partial<Record<Piece, string>>> = {
  go: {
    traces: 'go.opentelemetry.io/otel/sdk with otlptracehttp (sdktrace.NewTracerProvider, resource.WithFromEnv), the handler wrapped in otelhttp.NewHandler',
    logs: 'go.opentelemetry.io/otel/sdk/log with otlploghttp (sdklog.NewBatchProcessor), records emitted with the request ctx (e.g. the otelslog bridge: slog.InfoContext(r.Context(), ...))',
    metrics: 'go.opentelemetry.io/otel/sdk/metric with otlpmetrichttp (sdkmetric.NewPeriodicReader) and otelhttp.NewHandler, which records http.server.request.duration',
    exemplars: "the Go metrics SDK records exemplars by default (OTEL_METRICS_EXEMPLAR_FILTER=trace_based): record inside the request's ctx",
    profiles: 'github.com/grafana/pyroscope-go: pyroscope.Start with ApplicationName = OTEL_SERVICE_NAME, ServerAddress = PYROSCOPE_SERVER_ADDRESS',
    'span-profiles': 'github.com/grafana/otel-profiling-go: otel.SetTracerProvider(otelpyroscope.NewTracerProvider(tp))',
    calls: 'otelhttp.NewTransport on the HTTP client, and otel.SetTextMapPropagator(propagation.TraceContext{})',
  },
  java: {
    traces: 'the OpenTelemetry javaagent: JAVA_TOOL_OPTIONS=-javaagent:<dir>/opentelemetry-javaagent.jar with OTEL_SERVICE_NAME, OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf',
    logs: "the javaagent's log bridges (Logback, Log4j, java.util.logging; on by default, OTEL_LOGS_EXPORTER=otlp), logging inside the request thread",
    metrics: 'the javaagent records http.server.request.duration by default (OTEL_METRICS_EXPORTER=otlp)',
    exemplars: 'the javaagent records exemplars by default (OTEL_METRICS_EXEMPLAR_FILTER=trace_based)',
    profiles: 'the Pyroscope OTel extension (io.pyroscope:otel): OTEL_JAVAAGENT_EXTENSIONS=<dir>/pyroscope-otel.jar, OTEL_PYROSCOPE_START_PROFILING=true, PYROSCOPE_APPLICATION_NAME=<service.name>, PYROSCOPE_SERVER_ADDRESS',
    'span-profiles': 'the Pyroscope OTel extension (io.pyroscope:otel) in OTEL_JAVAAGENT_EXTENSIONS, with OTEL_PYROSCOPE_START_PROFILING=true',
    calls: "the javaagent instruments the usual HTTP clients; calls through another client need its instrumentation",
  },
  python: {
    traces: 'opentelemetry-distro + opentelemetry-exporter-otlp-proto-http, started as `opentelemetry-instrument python app.py` with OTEL_TRACES_EXPORTER=otlp, OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf',
    logs: 'opentelemetry-instrumentation-logging (its LoggingHandler on the root logger) with OTEL_LOGS_EXPORTER=otlp (or OTEL_PYTHON_LOGGING_AUTO_INSTRUMENTATION_ENABLED=true); OTEL_PYTHON_LOG_CORRELATION=true also puts the ids in the record',
    metrics: 'OTEL_METRICS_EXPORTER=otlp and OTEL_SEMCONV_STABILITY_OPT_IN=http (http.server.request.duration in seconds, from the web framework instrumentation opentelemetry-bootstrap installs)',
    exemplars: 'the Python metrics SDK records exemplars by default (OTEL_METRICS_EXEMPLAR_FILTER=trace_based)',
    profiles: 'pyroscope-io (pyroscope.configure with application_name = service.name, server_address = PYROSCOPE_SERVER_ADDRESS)',
    'span-profiles': "pyroscope-otel: PyroscopeSpanProcessor on the tracer provider (this repository's apps/python/lgtmp-pyroscope does it without code)",
    calls: 'the client library instrumentation (opentelemetry-instrumentation-requests / -httpx / -urllib3; opentelemetry-bootstrap -a install adds them)',
  },
  nodejs: {
    traces: '@opentelemetry/sdk-node + @opentelemetry/auto-instrumentations-node, loaded first: node --import ./telemetry.mjs server.js',
    logs: "pino or winston through @opentelemetry/auto-instrumentations-node (instrumentation-pino / -winston send the records over OTLP with the request's trace id)",
    metrics: "@opentelemetry/auto-instrumentations-node's http instrumentation with OTEL_SEMCONV_STABILITY_OPT_IN=http and OTEL_METRICS_EXPORTER=otlp",
    exemplars: "the OpenTelemetry JS metrics SDK records no exemplars (opentelemetry-js #2594): Tempo's span metrics carry them instead",
    profiles: '@pyroscope/nodejs: Pyroscope.init({ appName: OTEL_SERVICE_NAME, serverAddress: PYROSCOPE_SERVER_ADDRESS }) and Pyroscope.start()',
    'span-profiles': "PyroscopeSpanProcessor and ProfilingContextManager in the NodeSDK options and the process_cpu upload, as apps/node/src/telemetry does",
    calls: "@opentelemetry/auto-instrumentations-node's http and undici instrumentations (fetch included)",
  },
};

/** SDKs whose metrics record no exemplars: the exemplar checks are `not set up` for them, not failed. */
export const RECORDS_NO_EXEMPLARS: readonly SdkLanguage[] = ['nodejs'];

/** What to add for `piece`, for the service's language, and where the recipe is. */
export function hint(piece: Piece, language: SdkLanguage | undefined): string {
  const what = (language && BY_LANGUAGE[language][piece]) ?? ANY[piece];
  const where = language ? `${GUIDE[language]}, ${README_SECTION}` : README_SECTION;
  const lang = language ? `${language}: ` : 'telemetry.sdk.language not seen: ';
  return `${lang}${what} (see ${where})`;
}
