package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sort"
	"testing"
	"time"
)

// hangingListener accepts connections and never answers: the worst kind of
// unreachable backend (a refused port fails fast; this one hits timeouts).
func hangingListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return "http://" + ln.Addr().String()
}

// With the OTLP and Pyroscope endpoints hanging, the real SDK setup still
// starts, requests are not slowed, and shutdown stays bounded.
func TestUnreachableBackendsAddNoLatency(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the real exporters")
	}
	hang := hangingListener(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", hang)
	t.Setenv("PYROSCOPE_SERVER_ADDRESS", hang)
	t.Setenv("PYROSCOPE_UPLOAD_RATE", "1s")
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
	t.Setenv("OTEL_BSP_MAX_QUEUE_SIZE", "64")
	t.Setenv("OTEL_BLRP_SCHEDULE_DELAY", "50")
	t.Setenv("OTEL_BLRP_MAX_QUEUE_SIZE", "64")
	t.Setenv("OTEL_METRIC_EXPORT_INTERVAL", "100")
	t.Setenv("OTEL_SDK_DISABLED", "")

	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	tel, err := setupTelemetry(context.Background(), log)
	if err != nil {
		t.Fatal(err)
	}
	if !tel.enabled || tel.serviceName != "demo-app" {
		t.Fatalf("%+v", tel)
	}
	cfg, _ := loadConfig(func(string) string { return "" })
	a, err := newApp(cfg, tel)
	if err != nil {
		t.Fatal(err)
	}
	a.stdout = io.Discard
	srv := httptest.NewServer(a.handler())
	defer srv.Close()

	// Enough requests to fill every queue several times over while the
	// exporters are stuck on the hanging endpoint.
	var d []time.Duration
	for i := 0; i < 400; i++ {
		start := time.Now()
		res, err := http.Get(srv.URL + "/hello")
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		_ = res.Body.Close()
		d = append(d, time.Since(start))
		if i%100 == 0 {
			time.Sleep(150 * time.Millisecond) // let batches and metric reads start
		}
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	p50, p99 := d[len(d)/2], d[len(d)*99/100]
	t.Logf("/hello with hanging backends: p50 %v p99 %v max %v", p50, p99, d[len(d)-1])
	if p50 > 20*time.Millisecond || p99 > 250*time.Millisecond {
		t.Errorf("requests slowed down: p50 %v p99 %v", p50, p99)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	_ = tel.shutdown(ctx)
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("shutdown took %v despite a 2 s deadline", took)
	}
}

func TestSDKDisabled(t *testing.T) {
	t.Setenv("OTEL_SDK_DISABLED", "true")
	t.Setenv("OTEL_SERVICE_NAME", "other-name")
	tel, err := setupTelemetry(context.Background(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if tel.enabled || tel.serviceName != "other-name" || len(tel.shutdowns) != 0 {
		t.Errorf("%+v", tel)
	}
	cfg, _ := loadConfig(func(string) string { return "" })
	a, err := newApp(cfg, tel)
	if err != nil {
		t.Fatal(err)
	}
	out := &captureWriter{}
	a.stdout = out
	rec := httptest.NewRecorder()
	a.handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/hello", nil))
	if rec.Code != 200 || out.n == 0 {
		t.Errorf("status %d, stdout bytes %d", rec.Code, out.n)
	}
}

type captureWriter struct{ n int }

func (c *captureWriter) Write(b []byte) (int, error) { c.n += len(b); return len(b), nil }
