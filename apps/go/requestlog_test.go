package main

import (
	"encoding/json"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace"
)

func TestRequestLogFormat(t *testing.T) {
	tid, _ := trace.TraceIDFromHex("e72a0b1c2d3e4f5061728394a5b6c7d8")
	sid, _ := trace.SpanIDFromHex("b8f5a1b2c3d4e5f6")
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled})

	ok := newRequestLog("/slow", "GET", "/slow", 200, 7262*time.Millisecond+400*time.Microsecond, sc)
	want := `{"msg":"[OK] route=/slow method=GET status=200 duration_ms=7262 trace_id=e72a0b1c2d3e4f5061728394a5b6c7d8 span_id=b8f5a1b2c3d4e5f6",` +
		`"route":"/slow","method":"GET","status":200,"duration_ms":7262,"trace_id":"e72a0b1c2d3e4f5061728394a5b6c7d8","span_id":"b8f5a1b2c3d4e5f6","path":"/slow","level":"info"}`
	if got := ok.json(); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}

	bad := newRequestLog("/hello", "GET", "/hello", 503, 3*time.Millisecond, sc)
	var m map[string]any
	if err := json.Unmarshal([]byte(bad.json()), &m); err != nil {
		t.Fatal(err)
	}
	if m["msg"] != "[ERROR] route=/hello method=GET status=503 duration_ms=3 trace_id=e72a0b1c2d3e4f5061728394a5b6c7d8 span_id=b8f5a1b2c3d4e5f6" || m["level"] != "error" {
		t.Errorf("%v", m)
	}

	// 4xx is not an error of the service.
	if l := newRequestLog("unmatched", "GET", "/x", 404, 0, sc); l.Level != "info" || l.Msg[:4] != "[OK]" {
		t.Errorf("%+v", l)
	}
	// Without a span context the ids are empty, never zeros.
	if l := newRequestLog("/hello", "GET", "/hello", 200, 0, trace.SpanContext{}); l.TraceID != "" || l.SpanID != "" {
		t.Errorf("%+v", l)
	}
}
