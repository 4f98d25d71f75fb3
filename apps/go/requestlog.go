package main

// requestlog.go: what happens around every request. The server span is
// started from the incoming W3C trace context; when the handler is done the
// request is measured (http.server.request.duration), and one request log
// record is emitted through the OpenTelemetry logs SDK with the server
// span's context (so the record's trace_id/span_id are the span's) and
// printed to stdout. Its body is a JSON string:
//
//	{"msg":"[OK] route=/slow method=GET status=200 duration_ms=2412 trace_id=<32 hex> span_id=<16 hex>",
//	 "route":"/slow","method":"GET","status":200,"duration_ms":2412,"trace_id":"...","span_id":"...","path":"/slow","level":"info"}
//
// 5xx answers start the message with [ERROR] and carry "level":"error".

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	otellog "go.opentelemetry.io/otel/log"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// unmatchedRoute is the log's route for paths no route serves; such
// requests get no http.route attribute (it must stay low-cardinality).
const unmatchedRoute = "unmatched"

// requestLog is the JSON body of a request log record.
type requestLog struct {
	Msg        string `json:"msg"`
	Route      string `json:"route"`
	Method     string `json:"method"`
	Status     int    `json:"status"`
	DurationMs int64  `json:"duration_ms"`
	TraceID    string `json:"trace_id"`
	SpanID     string `json:"span_id"`
	Path       string `json:"path"`
	Level      string `json:"level"`
}

// newRequestLog builds the record body for one finished request.
func newRequestLog(route, method, path string, status int, d time.Duration, sc trace.SpanContext) requestLog {
	l := requestLog{
		Route:      route,
		Method:     method,
		Status:     status,
		DurationMs: d.Milliseconds(),
		Path:       path,
		Level:      "info",
	}
	if sc.IsValid() {
		l.TraceID = sc.TraceID().String()
		l.SpanID = sc.SpanID().String()
	}
	tag := "[OK]"
	if status >= 500 {
		tag = "[ERROR]"
		l.Level = "error"
	}
	l.Msg = fmt.Sprintf("%s route=%s method=%s status=%d duration_ms=%d trace_id=%s span_id=%s",
		tag, route, method, status, l.DurationMs, l.TraceID, l.SpanID)
	return l
}

func (l requestLog) json() string {
	b, err := json.Marshal(l)
	if err != nil { // cannot happen for these field types
		return fmt.Sprintf(`{"msg":%q}`, l.Msg)
	}
	return string(b)
}

// statusRecorder remembers the status code a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if !r.wrote {
		r.status, r.wrote = http.StatusOK, true
	}
	return r.ResponseWriter.Write(b)
}

// instruments are the metrics recorded per request.
type instruments struct {
	duration metric.Float64Histogram
}

// requestDurationBuckets: the semantic conventions' boundaries, extended
// past 10 s because /slow takes seconds.
var requestDurationBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 15, 30, 60}

func newInstruments(m metric.Meter) (instruments, error) {
	d, err := m.Float64Histogram("http.server.request.duration",
		metric.WithUnit("s"),
		metric.WithDescription("Duration of HTTP server requests."),
		metric.WithExplicitBucketBoundaries(requestDurationBuckets...))
	return instruments{duration: d}, err
}

// stdoutMu keeps request log lines whole on stdout.
var stdoutMu sync.Mutex

// instrument wraps the router: route is the matched route ("" when none).
func (a *app) instrument(routeOf func(*http.Request) string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		route := routeOf(r)
		ctx := a.tel.propagator.Extract(r.Context(), propagation.HeaderCarrier(r.Header))

		spanName := r.Method
		attrs := []attribute.KeyValue{
			semconv.HTTPRequestMethodKey.String(r.Method),
			semconv.URLPath(r.URL.Path),
			semconv.URLScheme("http"),
			semconv.UserAgentOriginal(r.UserAgent()),
		}
		if route != "" {
			spanName = r.Method + " " + route
			attrs = append(attrs, semconv.HTTPRoute(route))
		}
		ctx, span := a.tel.tracer.Start(ctx, spanName, trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(attrs...))

		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		func() {
			// Never crash on input: a panic becomes a 500.
			defer func() {
				if p := recover(); p != nil {
					span.RecordError(fmt.Errorf("panic: %v", p))
					if !rec.wrote {
						writeJSON(rec, http.StatusInternalServerError, map[string]any{"error": "internal error"})
					} else {
						rec.status = http.StatusInternalServerError
					}
				}
			}()
			next.ServeHTTP(rec, r.WithContext(ctx))
		}()
		elapsed := time.Since(start)

		span.SetAttributes(semconv.HTTPResponseStatusCode(rec.status))
		if rec.status >= 500 {
			span.SetStatus(codes.Error, http.StatusText(rec.status))
		}
		metricAttrs := []attribute.KeyValue{
			semconv.HTTPRequestMethodKey.String(r.Method),
			semconv.HTTPResponseStatusCode(rec.status),
		}
		if route != "" {
			metricAttrs = append(metricAttrs, semconv.HTTPRoute(route))
		}
		// Recorded with the span's context: the SDK attaches it as an exemplar.
		a.inst.duration.Record(ctx, elapsed.Seconds(), metric.WithAttributes(metricAttrs...))

		logRoute := route
		if logRoute == "" {
			logRoute = unmatchedRoute
		}
		a.emitRequestLog(ctx, newRequestLog(logRoute, r.Method, r.URL.Path, rec.status, elapsed, span.SpanContext()))
		span.End()
	})
}

// emitRequestLog sends the record over OTLP (trace context taken from ctx)
// and prints the same JSON line to stdout.
func (a *app) emitRequestLog(ctx context.Context, l requestLog) {
	sev, text := otellog.SeverityInfo, "INFO"
	if l.Status >= 500 {
		sev, text = otellog.SeverityError, "ERROR"
	}
	a.emitLog(ctx, sev, text, l.json(),
		attribute.String("http.route", l.Route),
		attribute.String("http.request.method", l.Method),
		attribute.Int("http.response.status_code", l.Status),
	)
}

// emitLog sends one record with a JSON string body over OTLP (trace context
// taken from ctx) and prints the body to stdout.
func (a *app) emitLog(ctx context.Context, sev otellog.Severity, sevText, body string, attrs ...attribute.KeyValue) {
	var rec otellog.Record
	now := time.Now()
	rec.SetTimestamp(now)
	rec.SetObservedTimestamp(now)
	rec.SetSeverity(sev)
	rec.SetSeverityText(sevText)
	rec.SetBody(attribute.StringValue(body))
	rec.AddAttributes(attrs...)
	a.tel.logger.Emit(ctx, rec)

	out := a.stdout
	if out == nil {
		out = os.Stdout
	}
	stdoutMu.Lock()
	fmt.Fprintln(out, body)
	stdoutMu.Unlock()
}
