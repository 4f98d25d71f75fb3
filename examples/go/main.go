// my-go-app: a minimal service of your own, instrumented as docs/instrument-your-app.md says.
// GET / answers hello; GET /work?n=<1..5000000> counts the primes below n in a child span, so the
// work shows up in the trace, in the span's CPU profile and in a log record of that trace.
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"go.opentelemetry.io/contrib/bridges/otelslog"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
)

const name = "my-go-app"

var (
	tracer = otel.Tracer(name)
	logger = otelslog.NewLogger(name) // slog records go to the OpenTelemetry log provider, with the ctx's trace
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	shutdown, err := setupTelemetry(ctx)
	if err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		logger.InfoContext(r.Context(), "said hello")
		fmt.Fprintln(w, "hello")
	})
	mux.HandleFunc("GET /work", work)

	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	// otelhttp: a SERVER span per request (named after the mux pattern) and http.server.request.duration.
	srv := &http.Server{Addr: ":" + port, Handler: otelhttp.NewHandler(mux, name), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
			log.Fatal(err)
		}
	}()
	<-ctx.Done()

	// Finish the requests in flight, then flush the last spans, metrics, logs and profile.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(ctx)
	if err := shutdown(ctx); err != nil {
		log.Print(err)
	}
}

func work(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.Atoi(r.URL.Query().Get("n"))
	if r.URL.Query().Get("n") == "" {
		n, err = 200_000, nil
	}
	if err != nil || n < 1 || n > 5_000_000 {
		http.Error(w, "n must be a whole number from 1 to 5000000", http.StatusBadRequest)
		return
	}
	_, span := tracer.Start(r.Context(), "countPrimes")
	primes := countPrimes(n)
	span.End()
	// The request's ctx: the record carries the server span's trace and span id (not in its text).
	logger.InfoContext(r.Context(), "counted primes", "n", n, "primes", primes)
	fmt.Fprintf(w, "%d primes below %d\n", primes, n)
}

// countPrimes is the CPU work: trial division, on purpose.
func countPrimes(n int) int {
	count := 0
	for i := 2; i < n; i++ {
		prime := true
		for d := 2; d*d <= i; d++ {
			if i%d == 0 {
				prime = false
				break
			}
		}
		if prime {
			count++
		}
	}
	return count
}
