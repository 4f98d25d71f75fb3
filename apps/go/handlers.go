package main

// handlers.go: the routes. Every answer except /hello's text is JSON;
// unknown paths get 404, wrong methods 405, bad parameters 400, and
// ?fail=true on any route a 500.

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// chainDepthHeader counts /chain hops so a NEXT_SERVICE_URL pointing back at
// a service already in the chain cannot loop for ever.
const (
	chainDepthHeader = "X-Demo-Chain-Depth"
	maxChainDepth    = 8
)

type app struct {
	cfg    config
	tel    *telemetry
	inst   instruments
	mode   *regexMode
	store  *allocStore
	leak   *allocStore // what /alloc keeps under the leak fault
	faults *faultSwitches
	client *http.Client // outgoing calls of /chain, propagating trace context
	stdout io.Writer    // request log lines; os.Stdout when nil
}

type route struct {
	method  string // GET routes also answer HEAD
	handler http.HandlerFunc
}

func (a *app) routes() map[string]route {
	return map[string]route{
		"/hello":        {http.MethodGet, a.helloHandler},
		"/slow":         {http.MethodGet, a.slowHandler},
		"/alloc":        {http.MethodGet, a.allocHandler},
		"/chain":        {http.MethodGet, a.chainHandler},
		"/healthz":      {http.MethodGet, a.healthzHandler},
		"/admin/regex":  {http.MethodPost, a.adminRegexHandler},
		"/admin/faults": {http.MethodPost, a.adminFaultsHandler},
	}
}

// handler is the whole app: instrumentation around a small router.
func (a *app) handler() http.Handler {
	routes := a.routes()
	routeOf := func(r *http.Request) string {
		if _, ok := routes[r.URL.Path]; ok {
			return r.URL.Path
		}
		return ""
	}
	router := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rt, ok := routes[r.URL.Path]
		if !ok {
			writeJSON(w, http.StatusNotFound, map[string]any{"error": "not found", "path": r.URL.Path})
			return
		}
		if r.Method != rt.method && !(rt.method == http.MethodGet && r.Method == http.MethodHead) &&
			!(strings.HasPrefix(r.URL.Path, "/admin/") && r.Method == http.MethodGet) {
			w.Header().Set("Allow", rt.method)
			writeJSON(w, http.StatusMethodNotAllowed, map[string]any{"error": "method not allowed", "allow": rt.method})
			return
		}
		if err := r.ParseForm(); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": "bad query string: " + err.Error()})
			return
		}
		fail, err := boolParam(r, "fail")
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": err.Error()})
			return
		}
		if fail {
			trace.SpanFromContext(r.Context()).AddEvent("failure requested with ?fail=true")
			writeJSON(w, http.StatusInternalServerError, map[string]any{"error": "failure requested with ?fail=true", "route": r.URL.Path})
			return
		}
		if a.faults.errorHit(r.URL.Path) {
			trace.SpanFromContext(r.Context()).AddEvent("failure injected by the errors fault")
			writeJSON(w, http.StatusInternalServerError, map[string]any{"error": "failure injected by the errors fault", "route": r.URL.Path})
			return
		}
		if f := a.faults.onRoute(faultLatency, r.URL.Path); f != nil {
			a.injectLatency(r.Context(), f.delay)
		}
		if f := a.faults.onRoute(faultCPU, r.URL.Path); f != nil {
			burnCPU(f.work)
		}
		rt.handler(w, r)
	})
	return a.instrument(routeOf, router)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// boolParam reads an optional boolean query parameter.
func boolParam(r *http.Request, name string) (bool, error) {
	v := r.Form.Get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%s must be true or false, got %q", name, v)
	}
	return b, nil
}

// helloHandler: the baseline, almost no work.
func (a *app) helloHandler(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, "Hello World")
}

func (a *app) healthzHandler(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok"})
}

// slowHandler: checkEmail under the child span slow_business_logic.
func (a *app) slowHandler(w http.ResponseWriter, r *http.Request) {
	iterations := a.cfg.slowIterations
	if v := r.Form.Get("iterations"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < minSlowIterations || n > maxSlowIterations {
			writeJSON(w, http.StatusBadRequest, map[string]any{
				"error": fmt.Sprintf("iterations must be an integer from %d to %d, got %q", minSlowIterations, maxSlowIterations, v)})
			return
		}
		iterations = n
	}
	mode := a.mode.get()
	start := time.Now()
	_, span := a.tel.tracer.Start(r.Context(), "slow_business_logic", trace.WithAttributes(
		attribute.Int("app.slow.iterations", iterations),
		attribute.String("app.regex.mode", mode),
	))
	valid := checkEmail(badEmailSample, iterations, mode)
	span.SetAttributes(attribute.Bool("app.email.valid", valid))
	span.End()
	writeJSON(w, http.StatusOK, map[string]any{
		"route": "/slow", "email": badEmailSample, "valid": valid, "iterations": iterations,
		"regex_mode": mode, "work_ms": time.Since(start).Milliseconds(),
	})
}

// allocHandler: allocateMemoryBurst under the child span alloc_business_logic.
func (a *app) allocHandler(w http.ResponseWriter, r *http.Request) {
	_, span := a.tel.tracer.Start(r.Context(), "alloc_business_logic", trace.WithAttributes(
		attribute.Int("app.alloc.chunks", a.cfg.allocChunks),
		attribute.Int("app.alloc.chunk_kib", a.cfg.allocChunkKiB),
	))
	batch := allocateMemoryBurst(a.cfg.allocChunks, a.cfg.allocChunkKiB)
	var leak map[string]any
	if f := a.faults.active(faultLeak); f != nil {
		kept, leaked := a.leak.keepUpTo(batch, int64(f.capMiB)<<20)
		leak = map[string]any{"retained_mib": leaked >> 20, "cap_mib": f.capMiB, "capped": !kept}
		span.SetAttributes(attribute.Int64("app.alloc.leaked_bytes", leaked))
	}
	batches, bytes := a.store.keep(batch, a.cfg.allocMaxBatch)
	span.SetAttributes(attribute.Int("app.alloc.retained_batches", batches), attribute.Int64("app.alloc.retained_bytes", bytes))
	span.End()
	writeJSON(w, http.StatusOK, map[string]any{
		"leak":             leak,
		"route":            "/alloc",
		"allocated_bytes":  batchBytes(batch),
		"retained_batches": batches,
		"max_batches":      a.cfg.allocMaxBatch,
		"retained_bytes":   bytes,
		"retained_mib":     bytes >> 20,
		"chunks_per_batch": a.cfg.allocChunks,
		"chunk_kib":        a.cfg.allocChunkKiB,
	})
}

// chainHandler calls NEXT_SERVICE_URL/chain (when set) with the W3C trace
// context, then does a little work of its own.
func (a *app) chainHandler(w http.ResponseWriter, r *http.Request) {
	depth := 0
	if v := r.Header.Get(chainDepthHeader); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": chainDepthHeader + " must be a non-negative integer"})
			return
		}
		depth = n
	}
	if depth >= maxChainDepth {
		writeJSON(w, http.StatusLoopDetected, map[string]any{"error": fmt.Sprintf("chain deeper than %d hops: is NEXT_SERVICE_URL a loop?", maxChainDepth)})
		return
	}
	resp := map[string]any{"service": a.tel.serviceName, "route": "/chain", "next": nil}
	if f := a.faults.active(faultDependency); f != nil && a.cfg.nextServiceURL != "" {
		a.failNext(w, r, f)
		return
	}
	if a.cfg.nextServiceURL != "" {
		next, err := a.callNext(r.Context(), depth+1)
		if err != nil {
			trace.SpanFromContext(r.Context()).RecordError(err)
			writeJSON(w, http.StatusBadGateway, map[string]any{"error": err.Error(), "next_url": a.cfg.nextServiceURL + "/chain"})
			return
		}
		resp["next"] = next
	}
	_, span := a.tel.tracer.Start(r.Context(), "chain_local_work")
	resp["digest"] = chainWork(2000)
	span.End()
	writeJSON(w, http.StatusOK, resp)
}

// callNext performs GET NEXT_SERVICE_URL/chain; the client's otelhttp
// transport makes the client span and injects traceparent.
func (a *app) callNext(ctx context.Context, depth int) (map[string]any, error) {
	url := a.cfg.nextServiceURL + "/chain"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("NEXT_SERVICE_URL: %w", err)
	}
	req.Header.Set(chainDepthHeader, strconv.Itoa(depth))
	res, err := a.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("calling %s: %w", url, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", url, err)
	}
	next := map[string]any{"url": url, "status": res.StatusCode}
	var body any
	if json.Unmarshal(raw, &body) == nil {
		next["body"] = body
	} else {
		next["body"] = strings.TrimSpace(string(raw))
	}
	if res.StatusCode >= 400 {
		return nil, fmt.Errorf("%s answered %d", url, res.StatusCode)
	}
	return next, nil
}

// chainWork is /chain's own small piece of work (a few ms of hashing).
//
//go:noinline
func chainWork(rounds int) string {
	sum := sha256.Sum256([]byte("lgtmp"))
	for i := 1; i < rounds; i++ {
		sum = sha256.Sum256(sum[:])
	}
	return fmt.Sprintf("%x", sum[:8])
}

// adminRegexHandler: GET shows the mode; POST ?mode=fixed|bad switches it.
func (a *app) adminRegexHandler(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		mode := strings.ToLower(r.Form.Get("mode"))
		if !a.mode.set(mode) {
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": fmt.Sprintf("mode must be bad or fixed, got %q", mode)})
			return
		}
	}
	mode := a.mode.get()
	trace.SpanFromContext(r.Context()).SetAttributes(attribute.String("app.regex.mode", mode))
	writeJSON(w, http.StatusOK, map[string]any{"mode": mode})
}
