package main

// telemetry.go wires the OpenTelemetry Go SDK (traces, metrics, logs over
// OTLP/HTTP) and the Pyroscope Go SDK (continuous profiling, with span
// profiles through otel-profiling-go). Everything is configured by the
// standard OTEL_* environment variables, read by the SDK and exporters
// themselves (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME,
// OTEL_RESOURCE_ATTRIBUTES, OTEL_BSP_SCHEDULE_DELAY,
// OTEL_METRIC_EXPORT_INTERVAL, OTEL_BLRP_SCHEDULE_DELAY, ...), plus
// PYROSCOPE_SERVER_ADDRESS for profiles.
//
// Every exporter works in the background: spans and log records go to
// batching processors, metrics are read periodically and profiles are
// uploaded by pyroscope-go's own workers, so an unreachable endpoint never
// adds latency to a request.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	otelpyroscope "github.com/grafana/otel-profiling-go"
	"github.com/grafana/pyroscope-go"
	otelruntime "go.opentelemetry.io/contrib/instrumentation/runtime"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	otellog "go.opentelemetry.io/otel/log"
	lognoop "go.opentelemetry.io/otel/log/noop"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// instrumentationName is the tracer, meter and logger name (the seed's
// tracer name).
const instrumentationName = "demo-app"

// defaultServiceName is used when OTEL_SERVICE_NAME does not say otherwise.
const defaultServiceName = "demo-app"

// telemetry holds what the handlers need and what shutdown must flush.
type telemetry struct {
	serviceName string
	tracer      trace.Tracer
	meter       metric.Meter
	logger      otellog.Logger
	propagator  propagation.TextMapPropagator
	enabled     bool

	shutdowns []func(context.Context) error
}

// telemetryDisabled follows the OTEL_SDK_DISABLED convention: "true" turns
// off every signal, including profiles.
func telemetryDisabled() bool {
	v, err := strconv.ParseBool(strings.TrimSpace(os.Getenv("OTEL_SDK_DISABLED")))
	return err == nil && v
}

func serviceNameFromEnv() string {
	if v := strings.TrimSpace(os.Getenv("OTEL_SERVICE_NAME")); v != "" {
		return v
	}
	return defaultServiceName
}

// setupTelemetry starts all providers. It never fails because of an
// unreachable backend: exporters only connect when they export.
func setupTelemetry(ctx context.Context, log *slog.Logger) (*telemetry, error) {
	t := &telemetry{
		serviceName: serviceNameFromEnv(),
		propagator:  propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}),
	}
	otel.SetTextMapPropagator(t.propagator)

	if telemetryDisabled() {
		t.tracer = tracenoop.NewTracerProvider().Tracer(instrumentationName)
		t.meter = metricnoop.NewMeterProvider().Meter(instrumentationName)
		t.logger = lognoop.NewLoggerProvider().Logger(instrumentationName)
		log.Info("telemetry disabled (OTEL_SDK_DISABLED=true): no traces, metrics, OTLP logs or profiles")
		return t, nil
	}
	t.enabled = true

	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		log.Warn("opentelemetry", "error", err.Error())
	}))

	// Default service.name first, so OTEL_SERVICE_NAME and
	// OTEL_RESOURCE_ATTRIBUTES (read by WithFromEnv) win over it.
	res, err := resource.New(ctx,
		resource.WithAttributes(semconv.ServiceName(defaultServiceName)),
		resource.WithFromEnv(),
		resource.WithTelemetrySDK(),
		resource.WithHost(),
		resource.WithProcessPID(),
		resource.WithProcessRuntimeName(),
		resource.WithProcessRuntimeVersion(),
	)
	if err != nil && res == nil {
		return nil, fmt.Errorf("resource: %w", err)
	}
	if v, ok := res.Set().Value(semconv.ServiceNameKey); ok && v.AsString() != "" {
		t.serviceName = v.AsString()
	}

	// Traces: OTLP/HTTP exporter behind the batch span processor.
	if p := strings.TrimSpace(os.Getenv("OTEL_EXPORTER_OTLP_PROTOCOL")); p != "" && p != "http/protobuf" {
		log.Warn("OTEL_EXPORTER_OTLP_PROTOCOL ignored: this app exports http/protobuf only", "value", p)
	}
	var traceOpts []otlptracehttp.Option
	if noEndpointSet("TRACES") {
		traceOpts = append(traceOpts, otlptracehttp.WithInsecure())
	}
	traceExp, err := otlptracehttp.New(ctx, traceOpts...)
	if err != nil {
		return nil, fmt.Errorf("trace exporter: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(traceExp), sdktrace.WithResource(res))
	t.shutdowns = append(t.shutdowns, tp.Shutdown)
	// otel-profiling-go wraps the provider: the local root span of each
	// request gets the attribute pyroscope.profile.id (= its span id) and
	// the goroutine's pprof labels get span_id/span_name, so CPU samples
	// taken while the request runs carry the span id.
	profiledTP := otelpyroscope.NewTracerProvider(tp)
	otel.SetTracerProvider(profiledTP)
	t.tracer = profiledTP.Tracer(instrumentationName)

	// Metrics: OTLP/HTTP exporter read periodically (cumulative temporality,
	// exemplars from sampled spans by default).
	var metricOpts []otlpmetrichttp.Option
	if noEndpointSet("METRICS") {
		metricOpts = append(metricOpts, otlpmetrichttp.WithInsecure())
	}
	metricExp, err := otlpmetrichttp.New(ctx, metricOpts...)
	if err != nil {
		return nil, fmt.Errorf("metric exporter: %w", err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewPeriodicReader(metricExp)), sdkmetric.WithResource(res))
	t.shutdowns = append(t.shutdowns, mp.Shutdown)
	otel.SetMeterProvider(mp)
	t.meter = mp.Meter(instrumentationName)
	if err := otelruntime.Start(otelruntime.WithMeterProvider(mp)); err != nil {
		log.Warn("runtime metrics not started", "error", err.Error())
	}
	if err := registerProcessMemory(t.meter); err != nil {
		log.Warn("process memory metric not registered", "error", err.Error())
	}

	// Logs: OTLP/HTTP exporter behind the batch log record processor.
	var logOpts []otlploghttp.Option
	if noEndpointSet("LOGS") {
		logOpts = append(logOpts, otlploghttp.WithInsecure())
	}
	logExp, err := otlploghttp.New(ctx, logOpts...)
	if err != nil {
		return nil, fmt.Errorf("log exporter: %w", err)
	}
	lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewBatchProcessor(logExp)), sdklog.WithResource(res))
	t.shutdowns = append(t.shutdowns, lp.Shutdown)
	t.logger = lp.Logger(instrumentationName)

	if err := startProfiling(t, log); err != nil {
		// Profiling is an extra: keep serving without it.
		log.Warn("pyroscope not started", "error", err.Error())
	}
	return t, nil
}

// noEndpointSet: neither OTEL_EXPORTER_OTLP_ENDPOINT nor the signal's own
// endpoint variable is set. The exporters then default to localhost:4318
// over HTTPS; plain HTTP is what a local Alloy or collector speaks.
func noEndpointSet(signal string) bool {
	return os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" && os.Getenv("OTEL_EXPORTER_OTLP_"+signal+"_ENDPOINT") == ""
}

// startProfiling starts pyroscope-go with the application name equal to
// service.name, which is what Grafana's traces-to-profiles link expects.
func startProfiling(t *telemetry, log *slog.Logger) error {
	addr := strings.TrimSpace(os.Getenv("PYROSCOPE_SERVER_ADDRESS"))
	if addr == "" {
		addr = "http://localhost:4040"
	}
	uploadRate := 15 * time.Second
	if v := strings.TrimSpace(os.Getenv("PYROSCOPE_UPLOAD_RATE")); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second || d > time.Minute {
			log.Warn("PYROSCOPE_UPLOAD_RATE ignored (want a duration from 1s to 1m)", "value", v)
		} else {
			uploadRate = d
		}
	}
	// Mutex and block profiles need sampling switched on in the runtime.
	runtime.SetMutexProfileFraction(5)
	runtime.SetBlockProfileRate(int(time.Millisecond.Nanoseconds()))

	profiler, err := pyroscope.Start(pyroscope.Config{
		ApplicationName: t.serviceName,
		ServerAddress:   addr,
		UploadRate:      uploadRate,
		Logger:          pyroscopeLogger{log},
		ProfileTypes: []pyroscope.ProfileType{
			pyroscope.ProfileCPU,
			pyroscope.ProfileAllocObjects,
			pyroscope.ProfileAllocSpace,
			pyroscope.ProfileInuseObjects,
			pyroscope.ProfileInuseSpace,
			pyroscope.ProfileGoroutines,
			pyroscope.ProfileMutexCount,
			pyroscope.ProfileMutexDuration,
			pyroscope.ProfileBlockCount,
			pyroscope.ProfileBlockDuration,
		},
	})
	if err != nil {
		return err
	}
	t.shutdowns = append(t.shutdowns, func(ctx context.Context) error {
		// Stop uploads what is left; it has no context, so bound it here.
		done := make(chan error, 1)
		go func() { done <- profiler.Stop() }()
		select {
		case err := <-done:
			return err
		case <-ctx.Done():
			return errors.New("pyroscope: stop timed out")
		}
	})
	log.Info("profiling to pyroscope", "server", addr, "application", t.serviceName, "upload_rate", uploadRate.String())
	return nil
}

// pyroscopeLogger passes pyroscope-go's errors (failed uploads) to the
// app's stderr log; its info and debug chatter is dropped.
type pyroscopeLogger struct{ log *slog.Logger }

func (l pyroscopeLogger) Infof(string, ...any)  {}
func (l pyroscopeLogger) Debugf(string, ...any) {}
func (l pyroscopeLogger) Errorf(format string, args ...any) {
	l.log.Warn("pyroscope: " + fmt.Sprintf(format, args...))
}

// shutdown flushes and stops every provider, all at once so that one
// unreachable endpoint cannot use up the others' time, within ctx's deadline.
func (t *telemetry) shutdown(ctx context.Context) error {
	errs := make([]error, len(t.shutdowns))
	var wg sync.WaitGroup
	for i, f := range t.shutdowns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = f(ctx)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
