package main

// faulteffects.go: what the fault switches do to requests, and how a
// change is reported (GET/POST /admin/faults, the [FAULT] log line, the
// lgtmp.fault.active gauge).

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/attribute"
	otellog "go.opentelemetry.io/otel/log"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// adminFaultsHandler: GET shows every switch; POST sets one (400 and no
// change on bad input).
func (a *app) adminFaultsHandler(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": "cannot read the body: " + err.Error()})
			return
		}
		req, err := parseFaultRequest(body, a.cfg.nextServiceURL != "")
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": err.Error()})
			return
		}
		a.faults.set(req.kind, req.fault)
	}
	writeJSON(w, http.StatusOK, map[string]any{"faults": a.faults.snapshot(), "regex_mode": a.mode.get()})
}

// faultLogLine is the JSON body of a [FAULT] log record.
type faultLogLine struct {
	Msg    string `json:"msg"`
	Fault  string `json:"fault"`
	State  string `json:"state"`
	Reason string `json:"reason,omitempty"`
	Level  string `json:"level"`
}

// reportFaultChange writes the [FAULT] line and frees what a leak kept.
func (a *app) reportFaultChange(c faultChange) {
	l := faultLogLine{Fault: c.kind, Level: "warn"}
	if c.on != nil {
		l.State = "on"
		l.Msg = fmt.Sprintf("[FAULT] %s on %s for=%s", c.kind, c.on.describe(), shortDuration(c.on.lasts))
	} else {
		l.State, l.Reason = "off", c.reason
		l.Msg = fmt.Sprintf("[FAULT] %s off (%s)", c.kind, c.reason)
		if c.kind == faultLeak {
			a.leak.release()
		}
	}
	b, _ := json.Marshal(l)
	a.emitLog(context.Background(), otellog.SeverityWarn, "WARN", string(b), attribute.String("lgtmp.fault", c.kind))
}

// registerFaultGauge reports lgtmp.fault.active{fault=<kind>}: 1 on, 0 off.
func registerFaultGauge(m metric.Meter, s *faultSwitches) error {
	g, err := m.Int64ObservableGauge("lgtmp.fault.active",
		metric.WithDescription("1 while the fault switch of this kind is on, 0 when off."))
	if err != nil {
		return err
	}
	_, err = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		for _, k := range faultKinds {
			v := int64(0)
			if s.active(k) != nil {
				v = 1
			}
			o.ObserveInt64(g, v, metric.WithAttributes(attribute.String("fault", k)))
		}
		return nil
	}, g)
	return err
}

// injectLatency sleeps d inside the child span injected_latency (the
// request's cancellation ends it early).
func (a *app) injectLatency(ctx context.Context, d time.Duration) {
	_, span := a.tel.tracer.Start(ctx, "injected_latency", trace.WithAttributes(attribute.String("lgtmp.fault", faultLatency)))
	defer span.End()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// burnCPU spins for work on the calling goroutine, so the CPU samples carry
// the request's span labels: its own frame in the span's flame graph.
//
//go:noinline
func burnCPU(work time.Duration) [32]byte {
	sum := sha256.Sum256([]byte("burnCPU"))
	for end := time.Now().Add(work); time.Now().Before(end); {
		for i := 0; i < 1000; i++ {
			sum = sha256.Sum256(sum[:])
		}
	}
	return sum
}

// failNext is /chain under the dependency fault: error mode calls
// <next>/hello?fail=true (the downstream answers 500) and answers 502;
// timeout mode calls <next>/slow with the fault's timeout and answers 504.
func (a *app) failNext(w http.ResponseWriter, r *http.Request, f *fault) {
	url, status := a.cfg.nextServiceURL+"/hello?fail=true", http.StatusBadGateway
	ctx := r.Context()
	if f.mode == "timeout" {
		url, status = a.cfg.nextServiceURL+"/slow", http.StatusGatewayTimeout
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, f.timeout)
		defer cancel()
	}
	msg := fmt.Sprintf("dependency fault (%s): ", f.mode)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err == nil {
		var res *http.Response
		if res, err = a.client.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 1<<20))
			_ = res.Body.Close()
			err = fmt.Errorf("%s answered %d", url, res.StatusCode)
		}
	}
	err = fmt.Errorf("%scalling %s: %w", msg, url, err)
	trace.SpanFromContext(r.Context()).RecordError(err)
	writeJSON(w, status, map[string]any{"error": err.Error(), "next_url": url, "fault": faultDependency})
}
