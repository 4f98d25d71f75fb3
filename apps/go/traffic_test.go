package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestTrafficMixParsing(t *testing.T) {
	mix, err := parseTrafficMix("")
	if err != nil || len(mix) != 3 || totalWeight(mix) != 10 || mix[0].path != "/slow" {
		t.Fatalf("default mix %+v %v", mix, err)
	}
	mix, err = parseTrafficMix(" slow=1, fail=2 ,chain=0,hello=3 ")
	if err != nil || len(mix) != 3 || mix[1].path != "/hello?fail=true" {
		t.Fatalf("%+v %v", mix, err)
	}
	for _, bad := range []string{"slow", "slow=", "slow=-1", "slow=1001", "bogus=1", "slow=0,hello=0", "slow=1,slow=2", "=3"} {
		if _, err := parseTrafficMix(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestTrafficPickFollowsWeights(t *testing.T) {
	mix, _ := parseTrafficMix("slow=6,hello=3,alloc=1")
	counts := map[string]int{}
	for r := 0; r < totalWeight(mix); r++ {
		counts[pick(mix, r).name]++
	}
	if counts["slow"] != 6 || counts["hello"] != 3 || counts["alloc"] != 1 {
		t.Errorf("%v", counts)
	}
}

func TestTrafficConfigBounds(t *testing.T) {
	c, warns := parseTrafficConfig(envOf(map[string]string{"TRAFFIC_RPS": "0.5", "TRAFFIC_CONCURRENCY": "32", "TRAFFIC_GENERATOR": "on"}))
	if len(warns) != 0 || c.rps != 0.5 || c.concurrency != 32 || !c.enabled {
		t.Errorf("%+v %v", c, warns)
	}
	for _, env := range []map[string]string{
		{"TRAFFIC_RPS": "0"}, {"TRAFFIC_RPS": "-1"}, {"TRAFFIC_RPS": "51"}, {"TRAFFIC_RPS": "NaN"}, {"TRAFFIC_RPS": "Inf"},
		{"TRAFFIC_CONCURRENCY": "33"}, {"TRAFFIC_CONCURRENCY": "1.5"},
	} {
		c, warns := parseTrafficConfig(envOf(env))
		if len(warns) != 1 || c.rps != 1 || c.concurrency != 2 {
			t.Errorf("%v: %+v %v", env, c, warns)
		}
	}
	if c, _ := parseTrafficConfig(envOf(map[string]string{"TRAFFIC_GENERATOR": "OFF"})); c.enabled {
		t.Error("OFF must disable")
	}
}

// The generator never has more than TRAFFIC_CONCURRENCY requests in flight,
// skips ticks instead of queueing them, and stops when its context ends.
func TestTrafficGeneratorIsBounded(t *testing.T) {
	var inFlight, maxInFlight atomic.Int64
	release := make(chan struct{})
	var paths sync.Map
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			m := maxInFlight.Load()
			if n <= m || maxInFlight.CompareAndSwap(m, n) {
				break
			}
		}
		paths.Store(r.URL.RequestURI(), true)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()

	// Counted where the generator issues them: a request cancelled at stop may still reach the server after run
	// returns, which is not a request after stop.
	issued := countingTransport{base: http.DefaultTransport}
	mix, _ := parseTrafficMix("hello=1,fail=1")
	g := &trafficGenerator{
		cfg:     trafficConfig{enabled: true, rps: 50, concurrency: 3, mix: mix},
		baseURL: srv.URL,
		client:  &http.Client{Timeout: 5 * time.Second, Transport: &issued},
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { g.run(ctx); close(done) }()

	time.Sleep(400 * time.Millisecond) // ~20 ticks while every slot is busy
	if got := maxInFlight.Load(); got != 3 {
		t.Errorf("max in flight %d, want 3", got)
	}
	g.mu.Lock()
	sent, skipped := g.sent, g.skipped
	g.mu.Unlock()
	if sent != 3 || skipped < 5 {
		t.Errorf("sent %d skipped %d", sent, skipped)
	}
	close(release) // let the rest flow
	time.Sleep(200 * time.Millisecond)
	cancel()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		t.Fatal("generator did not stop")
	}
	after := issued.n.Load()
	time.Sleep(100 * time.Millisecond)
	if issued.n.Load() != after {
		t.Error("requests after stop")
	}
	if after > 3+int64(0.6*50)+2 {
		t.Errorf("%d requests in 0.6 s at 50 rps", after)
	}
	_, okHello := paths.Load("/hello")
	_, okFail := paths.Load("/hello?fail=true")
	if !okHello && !okFail {
		t.Error("no target path seen")
	}
}

func TestTrafficGeneratorOffOrEmptyReturns(t *testing.T) {
	g := &trafficGenerator{cfg: trafficConfig{}}
	done := make(chan struct{})
	go func() { g.run(context.Background()); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Second):
		t.Fatal("empty generator must return at once")
	}
}

// countingTransport counts the requests an http.Client issues.
type countingTransport struct {
	base http.RoundTripper
	n    atomic.Int64
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.base.RoundTrip(r)
}
