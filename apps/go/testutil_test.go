package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	otelpyroscope "github.com/grafana/otel-profiling-go"
	"go.opentelemetry.io/otel/propagation"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// recordingProcessor keeps every log record emitted.
type recordingProcessor struct {
	mu      sync.Mutex
	records []sdklog.Record
}

func (p *recordingProcessor) Enabled(context.Context, sdklog.EnabledParameters) bool { return true }
func (p *recordingProcessor) OnEmit(_ context.Context, r *sdklog.Record) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.records = append(p.records, r.Clone())
	return nil
}
func (p *recordingProcessor) Shutdown(context.Context) error   { return nil }
func (p *recordingProcessor) ForceFlush(context.Context) error { return nil }

func (p *recordingProcessor) all() []sdklog.Record {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]sdklog.Record(nil), p.records...)
}

// harness is an app wired to in-memory SDK exporters.
type harness struct {
	app    *app
	srv    http.Handler
	spans  *tracetest.InMemoryExporter
	logs   *recordingProcessor
	reader *sdkmetric.ManualReader
	stdout *bytes.Buffer
}

func newHarness(t *testing.T, mutate func(*config)) *harness {
	t.Helper()
	cfg, warns := loadConfig(func(string) string { return "" })
	if len(warns) != 0 {
		t.Fatalf("default config warned: %v", warns)
	}
	cfg.traffic.enabled = false
	if mutate != nil {
		mutate(&cfg)
	}
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	logs := &recordingProcessor{}
	lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(logs))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() {
		_ = tp.Shutdown(context.Background())
		_ = lp.Shutdown(context.Background())
		_ = mp.Shutdown(context.Background())
	})
	tel := &telemetry{
		serviceName: "demo-app",
		tracer:      otelpyroscope.NewTracerProvider(tp).Tracer(instrumentationName),
		meter:       mp.Meter(instrumentationName),
		logger:      lp.Logger(instrumentationName),
		propagator:  propagation.TraceContext{},
		enabled:     true,
	}
	a, err := newApp(cfg, tel)
	if err != nil {
		t.Fatal(err)
	}
	a.store = &allocStore{}
	// The /chain client propagates with the test's tracer provider.
	a.client = &http.Client{Transport: propagatingTransport{prop: tel.propagator}}
	out := &bytes.Buffer{}
	a.stdout = out
	return &harness{app: a, srv: a.handler(), spans: spans, logs: logs, reader: reader, stdout: out}
}

// propagatingTransport injects trace context like otelhttp's transport.
type propagatingTransport struct{ prop propagation.TextMapPropagator }

func (p propagatingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	p.prop.Inject(r.Context(), propagation.HeaderCarrier(r.Header))
	return http.DefaultTransport.RoundTrip(r)
}

type response struct {
	status int
	body   string
	header http.Header
}

func (h *harness) do(t *testing.T, method, target string, header http.Header) response {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.srv.ServeHTTP(rec, req)
	b, _ := io.ReadAll(rec.Result().Body)
	return response{status: rec.Code, body: string(b), header: rec.Header()}
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(r.body), &m); err != nil {
		t.Fatalf("body is not JSON: %q (%v)", r.body, err)
	}
	return m
}

func (h *harness) spanNamed(t *testing.T, name string) tracetest.SpanStub {
	t.Helper()
	var found []tracetest.SpanStub
	for _, s := range h.spans.GetSpans() {
		if s.Name == name {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want one span %q, got %d (all: %v)", name, len(found), spanNames(h.spans.GetSpans()))
	}
	return found[0]
}

func spanNames(ss tracetest.SpanStubs) []string {
	var n []string
	for _, s := range ss {
		n = append(n, s.Name)
	}
	return n
}

func (h *harness) metrics(t *testing.T) metricdata.ResourceMetrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := h.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	return rm
}

func (h *harness) stdoutLines() []string {
	return strings.Split(strings.TrimSpace(h.stdout.String()), "\n")
}
