package main

// traffic.go: the built-in traffic generator (the seed's app keeps calling
// /slow by itself so Grafana always has data). It calls this app's own
// routes over HTTP at TRAFFIC_RPS requests per second with at most
// TRAFFIC_CONCURRENCY in flight, picking routes by the weights in
// TRAFFIC_MIX. A tick that finds every slot busy is skipped, never queued,
// so the load stays bounded whatever the routes cost.
//
// The default is cheap on purpose (the four apps together must stay near
// half a core): at 1 request/s, a minute holds 54 /hello, 2 /slow (seconds
// of checkEmail each), 2 /alloc and 2 failures (3 %), spread evenly, so
// every signal arrives every minute.

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

const (
	defaultTrafficMix = "hello=54,slow=2,alloc=2,fail=2"
	maxTrafficRPS     = 50
	maxTrafficConc    = 32
)

// trafficTargets maps the names TRAFFIC_MIX accepts to request paths.
var trafficTargets = map[string]string{
	"slow":  "/slow",
	"hello": "/hello",
	"alloc": "/alloc",
	"fail":  "/hello?fail=true",
	"chain": "/chain",
}

type weightedTarget struct {
	name   string
	path   string
	weight int
}

type trafficConfig struct {
	enabled     bool
	rps         float64
	concurrency int
	mix         []weightedTarget
}

// parseTrafficConfig reads TRAFFIC_GENERATOR (on|off, default on),
// TRAFFIC_RPS (default 1, up to 50), TRAFFIC_CONCURRENCY (default 2, up to
// 32) and TRAFFIC_MIX (default hello=54,slow=2,alloc=2,fail=2).
func parseTrafficConfig(getenv func(string) string) (trafficConfig, []string) {
	var warns []string
	c := trafficConfig{enabled: true, rps: 1, concurrency: 2}

	switch v := strings.ToLower(strings.TrimSpace(getenv("TRAFFIC_GENERATOR"))); v {
	case "", "on", "true", "1", "yes":
	case "off", "false", "0", "no":
		c.enabled = false
	default:
		warns = append(warns, fmt.Sprintf("TRAFFIC_GENERATOR=%q ignored: want on or off; using on", v))
	}
	if v := strings.TrimSpace(getenv("TRAFFIC_RPS")); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || !(f > 0 && f <= maxTrafficRPS) {
			warns = append(warns, fmt.Sprintf("TRAFFIC_RPS=%q ignored: want a number above 0 and at most %d; using 1", v, maxTrafficRPS))
		} else {
			c.rps = f
		}
	}
	if v := strings.TrimSpace(getenv("TRAFFIC_CONCURRENCY")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxTrafficConc {
			warns = append(warns, fmt.Sprintf("TRAFFIC_CONCURRENCY=%q ignored: want an integer from 1 to %d; using 2", v, maxTrafficConc))
		} else {
			c.concurrency = n
		}
	}
	mix, err := parseTrafficMix(getenv("TRAFFIC_MIX"))
	if err != nil {
		warns = append(warns, fmt.Sprintf("TRAFFIC_MIX ignored: %v; using %s", err, defaultTrafficMix))
		mix, _ = parseTrafficMix(defaultTrafficMix)
	}
	c.mix = mix
	return c, warns
}

// parseTrafficMix parses "name=weight,..." with names from trafficTargets
// and weights from 0 to 1000, at least one above 0. Empty means the default.
func parseTrafficMix(s string) ([]weightedTarget, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		s = defaultTrafficMix
	}
	var out []weightedTarget
	total := 0
	seen := map[string]bool{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, w, ok := strings.Cut(part, "=")
		name = strings.ToLower(strings.TrimSpace(name))
		path, known := trafficTargets[name]
		if !ok || !known {
			return nil, fmt.Errorf("%q is not name=weight with a name among slow, hello, alloc, fail, chain", part)
		}
		if seen[name] {
			return nil, fmt.Errorf("%q given twice", name)
		}
		seen[name] = true
		n, err := strconv.Atoi(strings.TrimSpace(w))
		if err != nil || n < 0 || n > 1000 {
			return nil, fmt.Errorf("weight of %q must be an integer from 0 to 1000", name)
		}
		total += n
		if n > 0 {
			out = append(out, weightedTarget{name: name, path: path, weight: n})
		}
	}
	if total == 0 {
		return nil, fmt.Errorf("no weight above 0")
	}
	return out, nil
}

// mixPicker is smooth weighted round-robin (as nginx balances upstreams):
// in every run of total-weight picks each target comes up exactly its
// weight times, spread evenly, so a rare route is never absent for long.
type mixPicker struct {
	mix     []weightedTarget
	current []int
	total   int
}

func newMixPicker(mix []weightedTarget) *mixPicker {
	p := &mixPicker{mix: mix, current: make([]int, len(mix))}
	for _, t := range mix {
		p.total += t.weight
	}
	return p
}

func (p *mixPicker) next() weightedTarget {
	best := 0
	for i, t := range p.mix {
		p.current[i] += t.weight
		if p.current[i] > p.current[best] {
			best = i
		}
	}
	p.current[best] -= p.total
	return p.mix[best]
}

// trafficGenerator sends the requests; sent and skipped count ticks.
type trafficGenerator struct {
	cfg     trafficConfig
	baseURL string
	client  *http.Client
	log     *slog.Logger

	mu      sync.Mutex
	sent    int
	skipped int
}

// run sends requests until ctx is done, then waits for those in flight
// (their requests are cancelled with ctx).
func (g *trafficGenerator) run(ctx context.Context) {
	if len(g.cfg.mix) == 0 || g.cfg.rps <= 0 || g.cfg.concurrency < 1 {
		return
	}
	interval := time.Duration(float64(time.Second) / g.cfg.rps)
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	slots := make(chan struct{}, g.cfg.concurrency)
	var wg sync.WaitGroup
	defer wg.Wait()
	picker := newMixPicker(g.cfg.mix)
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		select {
		case slots <- struct{}{}:
		default:
			g.count(false)
			continue
		}
		g.count(true)
		target := picker.next()
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			g.call(ctx, target.path)
		}()
	}
}

// counts returns the ticks sent and skipped so far.
func (g *trafficGenerator) counts() (sent, skipped int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.sent, g.skipped
}

func (g *trafficGenerator) count(sent bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if sent {
		g.sent++
	} else {
		g.skipped++
	}
}

func (g *trafficGenerator) call(ctx context.Context, path string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, g.baseURL+path, nil)
	if err != nil {
		return
	}
	req.Header.Set("User-Agent", "demo-app-traffic-generator")
	resp, err := g.client.Do(req)
	if err != nil {
		if ctx.Err() == nil && g.log != nil {
			g.log.Warn("traffic generator request failed", "path", path, "error", err.Error())
		}
		return
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
}
