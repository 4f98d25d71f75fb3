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
	if err != nil || len(mix) != 4 || newMixPicker(mix).total != 60 || mix[0].path != "/hello" || mix[3].path != "/hello?fail=true" {
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

// Every run of total-weight picks holds each target exactly its weight
// times, and a rare target comes up evenly: the default mix's /slow and
// failures land in every minute at 1 request/s.
func TestTrafficPickerSpreadsTheWeights(t *testing.T) {
	mix, _ := parseTrafficMix("")
	p := newMixPicker(mix)
	last := map[string]int{}
	for cycle := 0; cycle < 3; cycle++ {
		counts := map[string]int{}
		for i := 0; i < p.total; i++ {
			name := p.next().name
			counts[name]++
			n := cycle*p.total + i
			if prev, ok := last[name]; ok && name != "hello" && n-prev > p.total/2+1 {
				t.Errorf("%s: %d picks between two, want about %d", name, n-prev, p.total/2)
			}
			last[name] = n
		}
		if counts["hello"] != 54 || counts["slow"] != 2 || counts["alloc"] != 2 || counts["fail"] != 2 {
			t.Errorf("cycle %d: %v", cycle, counts)
		}
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

	// While every slot is busy the generator sends no more and skips ticks.
	waitUntil(t, "5 ticks skipped with 3 requests in flight", func() bool { _, skipped := g.counts(); return skipped >= 5 })
	if got := maxInFlight.Load(); got != 3 {
		t.Errorf("max in flight %d, want 3", got)
	}
	if sent, _ := g.counts(); sent != 3 {
		t.Errorf("sent %d while every slot was busy, want 3", sent)
	}
	close(release) // let the rest flow
	waitUntil(t, "requests to flow again after the slots were freed", func() bool { sent, _ := g.counts(); return sent >= 6 })
	cancel()
	waitUntil(t, "the generator to stop", func() bool {
		select {
		case <-done:
			return true
		default:
			return false
		}
	})
	// run has waited for its requests: every request issued was counted as sent, none came after.
	if sent, _ := g.counts(); issued.n.Load() != int64(sent) {
		t.Errorf("%d requests issued, %d sent", issued.n.Load(), sent)
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
	waitUntil(t, "an empty generator to return", func() bool {
		select {
		case <-done:
			return true
		default:
			return false
		}
	})
}

// waitUntil polls cond until it holds, failing with what never happened after 10 s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
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
