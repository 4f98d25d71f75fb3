package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

func (h *harness) post(t *testing.T, target, body string) response {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, target, strings.NewReader(body))
	rec := httptest.NewRecorder()
	h.srv.ServeHTTP(rec, req)
	b, _ := io.ReadAll(rec.Result().Body)
	return response{status: rec.Code, body: string(b), header: rec.Header()}
}

// faultsDoc is GET /admin/faults decoded.
func (h *harness) faultsDoc(t *testing.T) map[string]any {
	t.Helper()
	r := h.do(t, http.MethodGet, "/admin/faults", nil)
	if r.status != 200 {
		t.Fatalf("GET /admin/faults: %d %s", r.status, r.body)
	}
	return r.json(t)
}

// faultLogs are the [FAULT] records emitted so far, decoded.
func (h *harness) faultLogs(t *testing.T) []faultLogLine {
	t.Helper()
	var out []faultLogLine
	for _, rec := range h.logs.all() {
		var l faultLogLine
		if json.Unmarshal([]byte(rec.Body().AsString()), &l) == nil && strings.HasPrefix(l.Msg, "[FAULT]") {
			if rec.SeverityText() != "WARN" {
				t.Errorf("[FAULT] record severity %q", rec.SeverityText())
			}
			out = append(out, l)
		}
	}
	return out
}

func faultGauge(t *testing.T, h *harness) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, sm := range h.metrics(t).ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != "lgtmp.fault.active" {
				continue
			}
			for _, p := range m.Data.(metricdata.Gauge[int64]).DataPoints {
				k, _ := p.Attributes.Value("fault")
				out[k.AsString()] = p.Value
			}
		}
	}
	return out
}

func TestFaultsDocumentListsEveryKind(t *testing.T) {
	h := newHarness(t, nil)
	doc := h.faultsDoc(t)
	faults := doc["faults"].(map[string]any)
	for _, k := range faultKinds {
		if v, ok := faults[k]; !ok || v != nil {
			t.Errorf("%s: %v (present %v), want null", k, v, ok)
		}
	}
	if doc["regex_mode"] != "bad" {
		t.Errorf("regex_mode %v", doc["regex_mode"])
	}
	if g := faultGauge(t, h); len(g) != len(faultKinds) || g[faultErrors] != 0 {
		t.Errorf("gauge %v", g)
	}
	if r := h.do(t, http.MethodPut, "/admin/faults", nil); r.status != 405 {
		t.Errorf("PUT: %d", r.status)
	}
}

func TestErrorsFaultFailsTheRouteThroughTheFailPath(t *testing.T) {
	h := newHarness(t, func(c *config) { c.allocChunks, c.allocChunkKiB = 1, 1 })
	r := h.post(t, "/admin/faults", `{"fault":"errors","route":"/alloc","ratio":1,"for":"90s"}`)
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	on := r.json(t)["faults"].(map[string]any)[faultErrors].(map[string]any)
	if on["route"] != "/alloc" || on["ratio"] != float64(1) {
		t.Errorf("errors settings %v", on)
	}
	if exp, err := time.Parse(time.RFC3339, on["expires_at"].(string)); err != nil || time.Until(exp) > 91*time.Second || time.Until(exp) < 80*time.Second {
		t.Errorf("expires_at %v %v", on["expires_at"], err)
	}
	if g := faultGauge(t, h); g[faultErrors] != 1 || g[faultLatency] != 0 {
		t.Errorf("gauge %v", g)
	}
	h.spans.Reset()
	if r := h.do(t, http.MethodGet, "/alloc", nil); r.status != 500 {
		t.Fatalf("/alloc under the errors fault: %d %s", r.status, r.body)
	}
	if r := h.do(t, http.MethodGet, "/hello", nil); r.status != 200 {
		t.Errorf("/hello is not the fault's route: %d", r.status)
	}
	span := h.spanNamed(t, "GET /alloc")
	if span.Status.Code != codes.Error {
		t.Errorf("span status %v", span.Status)
	}
	var errLine requestLog
	for _, rec := range h.logs.all() {
		var l requestLog
		if json.Unmarshal([]byte(rec.Body().AsString()), &l) == nil && l.Route == "/alloc" {
			errLine = l
		}
	}
	if errLine.Level != "error" || errLine.Status != 500 || !strings.HasPrefix(errLine.Msg, "[ERROR] ") || errLine.TraceID != span.SpanContext.TraceID().String() {
		t.Errorf("request log %+v", errLine)
	}

	if r := h.post(t, "/admin/faults", `{"fault":"errors","on":false}`); r.status != 200 || r.json(t)["faults"].(map[string]any)[faultErrors] != nil {
		t.Fatalf("off: %d %s", r.status, r.body)
	}
	if r := h.do(t, http.MethodGet, "/alloc", nil); r.status != 200 {
		t.Errorf("/alloc after off: %d", r.status)
	}
	logs := h.faultLogs(t)
	if len(logs) != 2 || logs[0].Msg != "[FAULT] errors on route=/alloc ratio=1 for=1m30s" || logs[0].State != "on" || logs[0].Level != "warn" ||
		logs[1].Msg != "[FAULT] errors off (request)" || logs[1].State != "off" || logs[1].Fault != faultErrors {
		t.Errorf("[FAULT] lines %+v", logs)
	}
	if g := faultGauge(t, h); g[faultErrors] != 0 {
		t.Errorf("gauge after off %v", g)
	}
}

func TestBadFaultRequestsGive400AndChangeNothing(t *testing.T) {
	h := newHarness(t, nil)
	if r := h.post(t, "/admin/faults", `{"fault":"latency","route":"/slow","delay":"1s"}`); r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	before := h.faultsDoc(t)
	for _, body := range []string{
		``, `not json`, `[]`, `{"fault":"errors"} {}`, `{}`, `{"fault":"nope"}`, `{"fault":7}`,
		`{"fault":"errors","bogus":1}`, `{"fault":"errors","ratio":0}`, `{"fault":"errors","ratio":1.5}`, `{"fault":"errors","ratio":"x"}`,
		`{"fault":"errors","route":"/nope"}`, `{"fault":"errors","route":"/healthz"}`, `{"fault":"errors","for":"2h"}`, `{"fault":"errors","for":0}`,
		`{"fault":"errors","for":"soon"}`, `{"fault":"latency","delay":"31s"}`, `{"fault":"latency","route":"/slow","delay":"-1s"}`,
		`{"fault":"leak","cap_mib":0}`, `{"fault":"leak","cap_mib":1025}`, `{"fault":"leak","cap_mib":1.5}`, `{"fault":"cpu","work":"3s"}`,
		`{"fault":"cpu","delay":"1s"}`, `{"fault":"dependency"}`, `{"fault":"latency","on":"no"}`, `{"fault":"latency","on":false,"delay":"1s"}`,
	} {
		r := h.post(t, "/admin/faults", body)
		if r.status != 400 {
			t.Errorf("%q: %d %s", body, r.status, r.body)
			continue
		}
		if msg, _ := r.json(t)["error"].(string); msg == "" || strings.Contains(msg, "\n") {
			t.Errorf("%q: error %q", body, msg)
		}
	}
	after := h.faultsDoc(t)
	if b, a := mustJSON(t, before), mustJSON(t, after); a != b {
		t.Errorf("bad input changed the switches:\n%s\n%s", b, a)
	}
	if n := len(h.faultLogs(t)); n != 1 {
		t.Errorf("%d [FAULT] lines, want only the first on", n)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestFaultExpires(t *testing.T) {
	h := newHarness(t, nil)
	now := time.Now()
	h.app.faults.now = func() time.Time { return now }
	if r := h.post(t, "/admin/faults", `{"fault":"cpu","work":"1ms","for":60}`); r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if h.app.faults.active(faultCPU) == nil {
		t.Fatal("cpu not on")
	}
	now = now.Add(time.Minute)
	if r := h.do(t, http.MethodGet, "/hello", nil); r.status != 200 {
		t.Fatal(r.status)
	}
	if doc := h.faultsDoc(t); doc["faults"].(map[string]any)[faultCPU] != nil {
		t.Errorf("cpu still on after its for: %v", doc)
	}
	logs := h.faultLogs(t)
	if len(logs) != 2 || logs[1].Msg != "[FAULT] cpu off (expired)" || logs[1].Reason != "expired" {
		t.Errorf("%+v", logs)
	}
}

// The timer turns a fault off with no request at all.
func TestFaultTimerExpires(t *testing.T) {
	h := newHarness(t, nil)
	if r := h.post(t, "/admin/faults", `{"fault":"cpu","work":"1ms","for":"50ms"}`); r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(h.faultLogs(t)) < 2 {
		if time.Now().After(deadline) {
			t.Fatal("the [FAULT] cpu off (expired) line never came")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if l := h.faultLogs(t)[1]; l.Msg != "[FAULT] cpu off (expired)" {
		t.Errorf("%+v", l)
	}
}

func TestLatencyFaultSleepsInItsOwnChildSpan(t *testing.T) {
	h := newHarness(t, nil)
	if r := h.post(t, "/admin/faults", `{"fault":"latency","route":"/hello","delay":"20ms"}`); r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	h.spans.Reset()
	if r := h.do(t, http.MethodGet, "/hello", nil); r.status != 200 {
		t.Fatal(r.status)
	}
	server, child := h.spanNamed(t, "GET /hello"), h.spanNamed(t, "injected_latency")
	if child.Parent.SpanID() != server.SpanContext.SpanID() {
		t.Errorf("injected_latency's parent %s, server span %s", child.Parent.SpanID(), server.SpanContext.SpanID())
	}
	if d := child.EndTime.Sub(child.StartTime); d < 20*time.Millisecond {
		t.Errorf("injected_latency lasted %v, less than the delay", d)
	}
	h.post(t, "/admin/faults", `{"fault":"latency","on":false}`)
	h.spans.Reset()
	h.do(t, http.MethodGet, "/hello", nil)
	if names := spanNames(h.spans.GetSpans()); len(names) != 1 {
		t.Errorf("after off: %v", names)
	}
}

func TestCPUFaultBurnsOnTheRoute(t *testing.T) {
	h := newHarness(t, nil)
	if r := h.post(t, "/admin/faults", `{"fault":"cpu","route":"/hello","work":"5ms"}`); r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if on := h.faultsDoc(t)["faults"].(map[string]any)[faultCPU].(map[string]any); on["work"] != "5ms" || on["route"] != "/hello" {
		t.Errorf("%v", on)
	}
	if r := h.do(t, http.MethodGet, "/hello", nil); r.status != 200 || r.body != "Hello World" {
		t.Errorf("%d %q", r.status, r.body)
	}
}

func TestLeakFaultGrowsUntilItsCapAndIsFreedWhenOff(t *testing.T) {
	h := newHarness(t, func(c *config) { c.allocChunks, c.allocChunkKiB, c.allocMaxBatch = 4, 256, 1 }) // 1 MiB batches
	h.app.leak = &allocStore{}
	if r := h.post(t, "/admin/faults", `{"fault":"leak","cap_mib":3}`); r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	for i, want := range []map[string]any{
		{"retained_mib": 1.0, "capped": false}, {"retained_mib": 2.0, "capped": false},
		{"retained_mib": 3.0, "capped": false}, {"retained_mib": 3.0, "capped": true},
	} {
		leak := h.do(t, http.MethodGet, "/alloc", nil).json(t)["leak"].(map[string]any)
		if leak["retained_mib"] != want["retained_mib"] || leak["capped"] != want["capped"] || leak["cap_mib"] != 3.0 {
			t.Errorf("call %d: leak %v, want %v", i+1, leak, want)
		}
	}
	h.post(t, "/admin/faults", `{"fault":"leak","on":false}`)
	if _, n := h.app.leak.stats(); n != 0 {
		t.Errorf("%d bytes still leaked after off", n)
	}
	if leak := h.do(t, http.MethodGet, "/alloc", nil).json(t)["leak"]; leak != nil {
		t.Errorf("leak after off: %v", leak)
	}
}

func TestDependencyFault(t *testing.T) {
	// The next service is this app too; its /slow waits on a latency fault, not on the CPU.
	down := newHarness(t, func(c *config) { c.slowIterations = 1 })
	if r := down.post(t, "/admin/faults", `{"fault":"latency","route":"/slow","delay":"5s"}`); r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	next := httptest.NewServer(down.srv)
	defer next.Close()
	h := newHarness(t, func(c *config) { c.nextServiceURL = next.URL })

	if r := h.post(t, "/admin/faults", `{"fault":"dependency"}`); r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	r := h.do(t, http.MethodGet, "/chain", nil)
	if r.status != 502 || !strings.Contains(r.json(t)["error"].(string), "/hello?fail=true answered 500") {
		t.Errorf("error mode: %d %s", r.status, r.body)
	}
	if r := h.post(t, "/admin/faults", `{"fault":"dependency","mode":"timeout","timeout":"50ms"}`); r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	h.spans.Reset()
	r = h.do(t, http.MethodGet, "/chain", nil)
	if r.status != 504 || !strings.Contains(r.json(t)["error"].(string), "/slow") {
		t.Errorf("timeout mode: %d %s", r.status, r.body)
	}
	server := h.spanNamed(t, "GET /chain")
	if server.Status.Code != codes.Error || len(server.Events) == 0 || server.Events[0].Name != "exception" {
		t.Errorf("server span status %v events %v", server.Status, server.Events)
	}
	h.post(t, "/admin/faults", `{"fault":"dependency","on":false}`)
	if r := h.do(t, http.MethodGet, "/chain", nil); r.status != 200 {
		t.Errorf("after off: %d %s", r.status, r.body)
	}
}

func TestDurationValues(t *testing.T) {
	for in, want := range map[string]time.Duration{`"90s"`: 90 * time.Second, `"200ms"`: 200 * time.Millisecond, `"1h"`: time.Hour, `30`: 30 * time.Second, `0.5`: 500 * time.Millisecond, `"45"`: 45 * time.Second} {
		if d, err := durationValue("for", json.RawMessage(in), time.Hour); err != nil || d != want {
			t.Errorf("%s: %v %v", in, d, err)
		}
	}
	for _, in := range []string{`"61m"`, `3601`, `0`, `-1`, `"0s"`, `true`, `"abc"`, `null`} {
		if _, err := durationValue("for", json.RawMessage(in), time.Hour); err == nil {
			t.Errorf("%s accepted", in)
		}
	}
	if s := shortDuration(10 * time.Minute); s != "10m" {
		t.Error(s)
	}
	if s := shortDuration(time.Hour); s != "1h" {
		t.Error(s)
	}
}
