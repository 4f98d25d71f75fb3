package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/trace"
)

func attr(attrs []attribute.KeyValue, key string) (attribute.Value, bool) {
	for _, kv := range attrs {
		if string(kv.Key) == key {
			return kv.Value, true
		}
	}
	return attribute.Value{}, false
}

func TestHelloSpanLogAndMetric(t *testing.T) {
	h := newHarness(t, nil)
	r := h.do(t, http.MethodGet, "/hello", nil)
	if r.status != 200 || r.body != "Hello World" {
		t.Fatalf("got %d %q", r.status, r.body)
	}
	span := h.spanNamed(t, "GET /hello")
	if span.SpanKind != trace.SpanKindServer {
		t.Errorf("span kind %v", span.SpanKind)
	}
	if v, _ := attr(span.Attributes, "http.route"); v.AsString() != "/hello" {
		t.Errorf("http.route = %q", v.AsString())
	}
	if v, _ := attr(span.Attributes, "http.response.status_code"); v.AsInt64() != 200 {
		t.Errorf("status attr = %v", v.AsInt64())
	}
	// otel-profiling-go marks the local root span for span profiles.
	if v, ok := attr(span.Attributes, "pyroscope.profile.id"); !ok || v.AsString() != span.SpanContext.SpanID().String() {
		t.Errorf("pyroscope.profile.id = %q, want the span id %s", v.AsString(), span.SpanContext.SpanID())
	}

	recs := h.logs.all()
	if len(recs) != 1 {
		t.Fatalf("want 1 log record, got %d", len(recs))
	}
	rec := recs[0]
	if rec.TraceID() != span.SpanContext.TraceID() || rec.SpanID() != span.SpanContext.SpanID() {
		t.Errorf("log trace context %s/%s, span %s/%s", rec.TraceID(), rec.SpanID(), span.SpanContext.TraceID(), span.SpanContext.SpanID())
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(rec.Body().AsString()), &body); err != nil {
		t.Fatalf("log body not JSON: %q", rec.Body().AsString())
	}
	for _, k := range []string{"msg", "route", "method", "status", "duration_ms", "trace_id", "span_id"} {
		if _, ok := body[k]; !ok {
			t.Errorf("log body lacks %q: %v", k, body)
		}
	}
	if body["route"] != "/hello" || body["method"] != "GET" || body["status"] != float64(200) ||
		body["trace_id"] != span.SpanContext.TraceID().String() || body["span_id"] != span.SpanContext.SpanID().String() {
		t.Errorf("log body %v", body)
	}
	wantMsg := fmt.Sprintf("[OK] route=/hello method=GET status=200 duration_ms=%v trace_id=%s span_id=%s",
		body["duration_ms"], span.SpanContext.TraceID(), span.SpanContext.SpanID())
	if body["msg"] != wantMsg {
		t.Errorf("msg %q, want %q", body["msg"], wantMsg)
	}
	if rec.SeverityText() != "INFO" {
		t.Errorf("severity %q", rec.SeverityText())
	}
	// The same JSON line on stdout.
	if lines := h.stdoutLines(); len(lines) != 1 || lines[0] != rec.Body().AsString() {
		t.Errorf("stdout %q", h.stdout.String())
	}

	hist := findHistogram(t, h.metrics(t), "http.server.request.duration")
	if hist.unit != "s" {
		t.Errorf("unit %q", hist.unit)
	}
	dp := hist.points[0]
	if v, _ := dp.Attributes.Value("http.route"); v.AsString() != "/hello" {
		t.Errorf("metric route %v", v.AsString())
	}
	if v, _ := dp.Attributes.Value("http.request.method"); v.AsString() != "GET" {
		t.Errorf("metric method %v", v.AsString())
	}
	if v, _ := dp.Attributes.Value("http.response.status_code"); v.AsInt64() != 200 {
		t.Errorf("metric status %v", v.AsInt64())
	}
	if dp.Count != 1 {
		t.Errorf("count %d", dp.Count)
	}
	if len(dp.Exemplars) != 1 || fmt.Sprintf("%x", dp.Exemplars[0].TraceID) != span.SpanContext.TraceID().String() {
		t.Errorf("exemplars %+v", dp.Exemplars)
	}
}

type histogram struct {
	unit   string
	points []metricdata.HistogramDataPoint[float64]
}

func findHistogram(t *testing.T, rm metricdata.ResourceMetrics, name string) histogram {
	t.Helper()
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name == name {
				h, ok := m.Data.(metricdata.Histogram[float64])
				if !ok {
					t.Fatalf("%s is %T", name, m.Data)
				}
				return histogram{unit: m.Unit, points: h.DataPoints}
			}
		}
	}
	t.Fatalf("no metric %s", name)
	return histogram{}
}

func TestIncomingTraceparentIsContinued(t *testing.T) {
	h := newHarness(t, nil)
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	hdr := http.Header{"Traceparent": {"00-" + traceID + "-00f067aa0ba902b7-01"}}
	if r := h.do(t, http.MethodGet, "/hello", hdr); r.status != 200 {
		t.Fatal(r.status)
	}
	span := h.spanNamed(t, "GET /hello")
	if span.SpanContext.TraceID().String() != traceID || span.Parent.SpanID().String() != "00f067aa0ba902b7" {
		t.Errorf("span %s parent %s", span.SpanContext.TraceID(), span.Parent.SpanID())
	}
}

func TestSlowChildSpanAndResponse(t *testing.T) {
	h := newHarness(t, nil)
	r := h.do(t, http.MethodGet, "/slow?iterations=20", nil)
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	m := r.json(t)
	if m["iterations"] != float64(20) || m["valid"] != false || m["regex_mode"] != "bad" || m["email"] != badEmailSample {
		t.Errorf("body %v", m)
	}
	root := h.spanNamed(t, "GET /slow")
	child := h.spanNamed(t, "slow_business_logic")
	if child.Parent.SpanID() != root.SpanContext.SpanID() || child.SpanContext.TraceID() != root.SpanContext.TraceID() {
		t.Errorf("slow_business_logic is not a child of the server span")
	}
	if v, _ := attr(child.Attributes, "app.slow.iterations"); v.AsInt64() != 20 {
		t.Errorf("iterations attr %v", v.AsInt64())
	}
	// Only the local root carries the profile id.
	if _, ok := attr(child.Attributes, "pyroscope.profile.id"); ok {
		t.Errorf("child span has pyroscope.profile.id")
	}
}

func TestSlowDefaultIterations(t *testing.T) {
	h := newHarness(t, func(c *config) { c.slowIterations = 3 })
	m := h.do(t, http.MethodGet, "/slow", nil).json(t)
	if m["iterations"] != float64(3) {
		t.Errorf("iterations %v", m["iterations"])
	}
}

func TestBadInputGives400(t *testing.T) {
	h := newHarness(t, nil)
	for _, target := range []string{
		"/slow?iterations=0", "/slow?iterations=-5", "/slow?iterations=100001", "/slow?iterations=abc",
		"/slow?iterations=1e3", "/slow?iterations=99999999999999999999999", "/hello?fail=maybe",
		"/slow?iterations=%zz",
	} {
		r := h.do(t, http.MethodGet, target, nil)
		if r.status != 400 {
			t.Errorf("%s: %d %s", target, r.status, r.body)
			continue
		}
		if _, ok := r.json(t)["error"]; !ok {
			t.Errorf("%s: no error key: %s", target, r.body)
		}
	}
	// Both bounds are accepted (fixed mode keeps 100,000 iterations fast).
	h.app.mode.set(regexModeFixed)
	for _, target := range []string{"/slow?iterations=1", "/slow?iterations=100000&fail=false"} {
		if r := h.do(t, http.MethodGet, target, nil); r.status != 200 {
			t.Errorf("%s: %d %s", target, r.status, r.body)
		}
	}
}

func TestUnknownRouteAndMethod(t *testing.T) {
	h := newHarness(t, nil)
	r := h.do(t, http.MethodGet, "/nope/../x?y=1", nil)
	if r.status != 404 || r.json(t)["error"] != "not found" {
		t.Errorf("404: %d %s", r.status, r.body)
	}
	span := h.spanNamed(t, "GET")
	if _, ok := attr(span.Attributes, "http.route"); ok {
		t.Errorf("unmatched request has http.route")
	}
	var body map[string]any
	_ = json.Unmarshal([]byte(h.logs.all()[0].Body().AsString()), &body)
	if body["route"] != unmatchedRoute || body["status"] != float64(404) {
		t.Errorf("log %v", body)
	}
	if r := h.do(t, http.MethodPost, "/hello", nil); r.status != 405 || r.header.Get("Allow") != "GET" {
		t.Errorf("POST /hello: %d %v", r.status, r.header)
	}
	if r := h.do(t, http.MethodHead, "/hello", nil); r.status != 200 {
		t.Errorf("HEAD /hello: %d", r.status)
	}
}

func TestFailGives500EverywhereWithErrorLog(t *testing.T) {
	for _, route := range []string{"/hello", "/slow", "/alloc", "/chain", "/healthz"} {
		h := newHarness(t, nil)
		r := h.do(t, http.MethodGet, route+"?fail=true", nil)
		if r.status != 500 {
			t.Errorf("%s: %d", route, r.status)
			continue
		}
		span := h.spanNamed(t, "GET "+route)
		if span.Status.Code != codes.Error {
			t.Errorf("%s: span status %v", route, span.Status)
		}
		rec := h.logs.all()[0]
		var body map[string]any
		_ = json.Unmarshal([]byte(rec.Body().AsString()), &body)
		if body["level"] != "error" || !strings.HasPrefix(body["msg"].(string), "[ERROR] route="+route+" method=GET status=500 ") {
			t.Errorf("%s: log %v", route, body)
		}
		if rec.SeverityText() != "ERROR" {
			t.Errorf("%s: severity %q", route, rec.SeverityText())
		}
		hist := findHistogram(t, h.metrics(t), "http.server.request.duration")
		if v, _ := hist.points[0].Attributes.Value("http.response.status_code"); v.AsInt64() != 500 {
			t.Errorf("%s: metric status %v", route, v.AsInt64())
		}
	}
}

func TestPanicBecomes500(t *testing.T) {
	h := newHarness(t, nil)
	srv := h.app.instrument(func(*http.Request) string { return "/boom" }, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic("boom")
	}))
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/boom", nil))
	if rec.Code != 500 {
		t.Errorf("status %d", rec.Code)
	}
	if len(h.logs.all()) != 1 {
		t.Errorf("no request log after panic")
	}
}

func TestHealthz(t *testing.T) {
	h := newHarness(t, nil)
	r := h.do(t, http.MethodGet, "/healthz", nil)
	if r.status != 200 || r.json(t)["status"] != "ok" {
		t.Errorf("%d %s", r.status, r.body)
	}
}

func TestAdminRegexSwitchesSlow(t *testing.T) {
	h := newHarness(t, nil)
	if m := h.do(t, http.MethodGet, "/admin/regex", nil).json(t); m["mode"] != "bad" {
		t.Errorf("initial mode %v", m)
	}
	if r := h.do(t, http.MethodPost, "/admin/regex?mode=fixed", nil); r.status != 200 || r.json(t)["mode"] != "fixed" {
		t.Fatalf("switch: %d %s", r.status, r.body)
	}
	m := h.do(t, http.MethodGet, "/slow?iterations=10", nil).json(t)
	if m["regex_mode"] != "fixed" || m["valid"] != false {
		t.Errorf("fixed /slow %v", m)
	}
	if r := h.do(t, http.MethodPost, "/admin/regex?mode=worse", nil); r.status != 400 {
		t.Errorf("bad mode: %d", r.status)
	}
	if r := h.do(t, http.MethodPut, "/admin/regex?mode=bad", nil); r.status != 405 {
		t.Errorf("PUT: %d", r.status)
	}
	if r := h.do(t, http.MethodPost, "/admin/regex?mode=bad", nil); r.json(t)["mode"] != "bad" {
		t.Errorf("back to bad: %s", r.body)
	}
}

func TestRegexModeFromConfig(t *testing.T) {
	h := newHarness(t, func(c *config) { c.regexMode = regexModeFixed })
	if m := h.do(t, http.MethodGet, "/slow?iterations=1", nil).json(t); m["regex_mode"] != "fixed" {
		t.Errorf("%v", m)
	}
}

func TestAllocRetainsAtMostMaxBatches(t *testing.T) {
	h := newHarness(t, func(c *config) { c.allocChunks, c.allocChunkKiB, c.allocMaxBatch = 3, 2, 4 })
	var last map[string]any
	for i := 1; i <= 7; i++ {
		r := h.do(t, http.MethodGet, "/alloc", nil)
		if r.status != 200 {
			t.Fatalf("%d %s", r.status, r.body)
		}
		last = r.json(t)
		want := min(i, 4)
		if last["retained_batches"] != float64(want) {
			t.Errorf("call %d: retained_batches %v, want %d", i, last["retained_batches"], want)
		}
	}
	if last["retained_bytes"] != float64(4*3*2*1024) || last["allocated_bytes"] != float64(3*2*1024) {
		t.Errorf("bytes %v", last)
	}
	if n, b := h.app.store.stats(); n != 4 || b != 4*3*2*1024 {
		t.Errorf("store %d %d", n, b)
	}
	if len(h.spans.GetSpans()) != 14 {
		t.Errorf("want a server span and an alloc_business_logic span per call, got %v", spanNames(h.spans.GetSpans()))
	}
}

func TestAllocateMemoryBurstTouchesEveryByte(t *testing.T) {
	batch := allocateMemoryBurst(2, 1)
	if len(batch) != 2 || len(batch[0]) != 1024 || len(batch[1]) != 1024 {
		t.Fatalf("shape %d", len(batch))
	}
	if batch[0][5] != 5 || batch[1][5] != 6 || batch[0][1023] != 0xff {
		t.Errorf("bytes not written")
	}
}

func TestChainPropagatesTraceContext(t *testing.T) {
	var gotTraceparent, gotDepth string
	next := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotTraceparent, gotDepth = r.Header.Get("Traceparent"), r.Header.Get(chainDepthHeader)
		writeJSON(w, 200, map[string]any{"service": "next"})
	}))
	defer next.Close()
	h := newHarness(t, func(c *config) { c.nextServiceURL = next.URL })
	r := h.do(t, http.MethodGet, "/chain", nil)
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	root := h.spanNamed(t, "GET /chain")
	if !strings.HasPrefix(gotTraceparent, "00-"+root.SpanContext.TraceID().String()+"-") {
		t.Errorf("traceparent %q, trace %s", gotTraceparent, root.SpanContext.TraceID())
	}
	if gotDepth != "1" {
		t.Errorf("depth %q", gotDepth)
	}
	m := r.json(t)
	if nx, _ := m["next"].(map[string]any); nx == nil || nx["status"] != float64(200) {
		t.Errorf("next %v", m["next"])
	}
	h.spanNamed(t, "chain_local_work")
}

func TestChainErrors(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	h := newHarness(t, func(c *config) { c.nextServiceURL = deadURL })
	if r := h.do(t, http.MethodGet, "/chain", nil); r.status != 502 {
		t.Errorf("unreachable next: %d %s", r.status, r.body)
	}
	h2 := newHarness(t, nil)
	if r := h2.do(t, http.MethodGet, "/chain", http.Header{chainDepthHeader: {"8"}}); r.status != 508 {
		t.Errorf("loop guard: %d", r.status)
	}
	if r := h2.do(t, http.MethodGet, "/chain", http.Header{chainDepthHeader: {"x"}}); r.status != 400 {
		t.Errorf("bad depth: %d", r.status)
	}
	if r := h2.do(t, http.MethodGet, "/chain", nil); r.status != 200 || r.json(t)["next"] != nil {
		t.Errorf("no next: %d %s", r.status, r.body)
	}
}
