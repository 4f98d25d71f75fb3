// Command demo-app is the seed's Go demo service for the lgtmp observability
// demo: /hello, /slow (a CPU hot spot in checkEmail), /alloc (a memory
// staircase), /chain (a cross-service trace) and /healthz, instrumented in
// code with the OpenTelemetry Go SDK and profiled with pyroscope-go.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "demo-app:", err)
		os.Exit(1)
	}
}

func run() error {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	cfg, warns := loadConfig(os.Getenv)
	for _, w := range warns {
		log.Warn(w)
	}
	if soft := applyMemoryLimit(); soft > 0 {
		log.Info("Go soft memory limit set from the cgroup limit", "bytes", soft)
		if keep := int64(cfg.allocMaxBatch) * int64(cfg.allocChunks) * int64(cfg.allocChunkKiB) << 10; keep > soft*9/10 {
			log.Warn("/alloc may keep more memory than the container allows; lower ALLOC_MAX_BATCHES", "alloc_cap_bytes", keep)
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()

	tel, err := setupTelemetry(ctx, log)
	if err != nil {
		return fmt.Errorf("telemetry: %w", err)
	}
	a, err := newApp(cfg, tel)
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", fmt.Sprintf(":%d", cfg.port))
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: a.handler(), ReadHeaderTimeout: 10 * time.Second}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	log.Info("listening", "port", cfg.port, "service", tel.serviceName, "slow_iterations", cfg.slowIterations,
		"regex_mode", cfg.regexMode, "next_service_url", cfg.nextServiceURL, "telemetry", tel.enabled)

	trafficCtx, stopTraffic := context.WithCancel(context.Background())
	trafficDone := make(chan struct{})
	if cfg.traffic.enabled {
		g := &trafficGenerator{
			cfg:     cfg.traffic,
			baseURL: fmt.Sprintf("http://127.0.0.1:%d", cfg.port),
			client:  &http.Client{Timeout: 2 * time.Minute},
			log:     log,
		}
		log.Info("traffic generator on", "rps", cfg.traffic.rps, "concurrency", cfg.traffic.concurrency, "mix", os.Getenv("TRAFFIC_MIX"))
		go func() { defer close(trafficDone); g.run(trafficCtx) }()
	} else {
		close(trafficDone)
	}

	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case err := <-serveErr:
		stopTraffic()
		return err
	}

	// Stop the generator, drain requests, then flush telemetry; the whole
	// sequence stays under ~9 s so an orchestrator's grace period is enough.
	stopTraffic()
	<-trafficDone
	drainCtx, cancelDrain := context.WithTimeout(context.Background(), 4*time.Second)
	if err := srv.Shutdown(drainCtx); err != nil {
		log.Warn("http shutdown", "error", err.Error())
	}
	cancelDrain()
	flushCtx, cancelFlush := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancelFlush()
	if err := tel.shutdown(flushCtx); err != nil {
		log.Warn("telemetry shutdown", "error", err.Error())
	}
	log.Info("stopped")
	if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// newApp assembles the handlers' dependencies.
func newApp(cfg config, tel *telemetry) (*app, error) {
	inst, err := newInstruments(tel.meter)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	mode := &regexMode{}
	mode.set(cfg.regexMode)
	a := &app{
		cfg:   cfg,
		tel:   tel,
		inst:  inst,
		mode:  mode,
		store: &retained,
		leak:  &leaked,
		client: &http.Client{
			Timeout:   30 * time.Second,
			Transport: otelhttp.NewTransport(http.DefaultTransport),
		},
	}
	a.faults = newFaultSwitches(func(c faultChange) { a.reportFaultChange(c) })
	if err := registerFaultGauge(tel.meter, a.faults); err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	return a, nil
}
