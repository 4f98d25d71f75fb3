package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// hangingListener accepts connections and never answers: the worst kind of
// unreachable backend (a refused port fails fast; this one hits timeouts).
// accepted counts the connections the exporters opened.
func hangingListener(tb testing.TB) (url string, accepted *atomic.Int64) {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	accepted = &atomic.Int64{}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			accepted.Add(1)
		}
	}()
	tb.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return "http://" + ln.Addr().String(), accepted
}

// appWithHangingBackends starts the real SDK setup with every endpoint
// hanging and short export intervals, behind an httptest server.
func appWithHangingBackends(tb testing.TB) (srvURL string, tel *telemetry, accepted *atomic.Int64) {
	tb.Helper()
	hang, accepted := hangingListener(tb)
	tb.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", hang)
	tb.Setenv("PYROSCOPE_SERVER_ADDRESS", hang)
	tb.Setenv("PYROSCOPE_UPLOAD_RATE", "1s")
	tb.Setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
	tb.Setenv("OTEL_BSP_MAX_QUEUE_SIZE", "64")
	tb.Setenv("OTEL_BLRP_SCHEDULE_DELAY", "50")
	tb.Setenv("OTEL_BLRP_MAX_QUEUE_SIZE", "64")
	tb.Setenv("OTEL_METRIC_EXPORT_INTERVAL", "100")
	tb.Setenv("OTEL_SDK_DISABLED", "")

	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	tel, err := setupTelemetry(context.Background(), log)
	if err != nil {
		tb.Fatal(err)
	}
	cfg, _ := loadConfig(func(string) string { return "" })
	a, err := newApp(cfg, tel)
	if err != nil {
		tb.Fatal(err)
	}
	a.stdout = io.Discard
	srv := httptest.NewServer(a.handler())
	tb.Cleanup(srv.Close)
	return srv.URL, tel, accepted
}

func getHello(tb testing.TB, client *http.Client, url string) {
	res, err := client.Get(url + "/hello")
	if err != nil {
		tb.Fatalf("/hello with hanging backends: %v", err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	_ = res.Body.Close()
	if res.StatusCode != 200 {
		tb.Fatalf("/hello: %d", res.StatusCode)
	}
}

// With the OTLP and Pyroscope endpoints hanging, the real SDK setup still
// starts, no request waits on an exporter (each would hang with them), and
// shutdown returns within its deadline. How fast the requests are is a
// benchmark figure: BenchmarkHelloWithHangingBackends.
func TestUnreachableBackendsBlockNoRequest(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the real exporters")
	}
	url, tel, accepted := appWithHangingBackends(t)
	if !tel.enabled || tel.serviceName != "demo-app" {
		t.Fatalf("%+v", tel)
	}
	// A client timeout far above any answer: reaching it means a request hung on an exporter.
	client := &http.Client{Timeout: 30 * time.Second}
	// Enough requests to fill every queue several times over, the exporters stuck on the endpoint.
	for i := 0; i < 100; i++ {
		getHello(t, client, url)
	}
	waitUntil(t, "the exporters to connect to the hanging endpoint", func() bool { return accepted.Load() >= 2 })
	for i := 0; i < 300; i++ {
		getHello(t, client, url)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	done := make(chan struct{})
	go func() { _ = tel.shutdown(ctx); close(done) }()
	waitUntil(t, "shutdown to return after its 2 s deadline", func() bool {
		select {
		case <-done:
			return true
		default:
			return false
		}
	})
}

// BenchmarkHelloWithHangingBackends: /hello's latency while every exporter
// hangs (go test -run - -bench HangingBackends); printed, not asserted.
func BenchmarkHelloWithHangingBackends(b *testing.B) {
	url, tel, _ := appWithHangingBackends(b)
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = tel.shutdown(ctx)
	}()
	client := &http.Client{Timeout: 30 * time.Second}
	d := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		getHello(b, client, url)
		d = append(d, time.Since(start))
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	b.ReportMetric(float64(d[len(d)/2].Microseconds()), "p50-us")
	b.ReportMetric(float64(d[len(d)*99/100].Microseconds()), "p99-us")
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
