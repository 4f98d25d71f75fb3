package main

// faults.go: the runtime fault switches (docs/fault-switches.md), one per row
// of the seed's troubleshooting map. Each kind is off or on with its
// settings and an expiry; a change is reported by the onChange hook (the
// [FAULT] log line) and by the lgtmp.fault.active gauge.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

const (
	faultErrors     = "errors"
	faultLatency    = "latency"
	faultLeak       = "leak"
	faultCPU        = "cpu"
	faultDependency = "dependency"
)

// faultKinds in the order GET /admin/faults and the gauge report them.
var faultKinds = []string{faultErrors, faultLatency, faultLeak, faultCPU, faultDependency}

// faultRoutes are the routes a fault may target (the app's own work routes).
var faultRoutes = []string{"/hello", "/slow", "/alloc", "/chain"}

const (
	defaultFaultFor = 10 * time.Minute
	maxFaultFor     = time.Hour
	maxFaultDelay   = 30 * time.Second
	maxFaultWork    = 2 * time.Second
	maxFaultTimeout = 30 * time.Second
)

// fault is one kind's settings while it is on; only the kind's fields are set.
type fault struct {
	kind      string
	route     string
	ratio     float64
	delay     time.Duration
	capMiB    int
	work      time.Duration
	mode      string // dependency: "error" or "timeout"
	timeout   time.Duration
	lasts     time.Duration
	expiresAt time.Time
}

// settings are the kind's own settings as GET /admin/faults and the log show them.
func (f *fault) settings() [][2]any {
	switch f.kind {
	case faultErrors:
		return [][2]any{{"route", f.route}, {"ratio", f.ratio}}
	case faultLatency:
		return [][2]any{{"route", f.route}, {"delay", f.delay.String()}}
	case faultLeak:
		return [][2]any{{"cap_mib", f.capMiB}}
	case faultCPU:
		return [][2]any{{"route", f.route}, {"work", f.work.String()}}
	default:
		return [][2]any{{"mode", f.mode}, {"timeout", f.timeout.String()}}
	}
}

func (f *fault) doc() map[string]any {
	m := map[string]any{"expires_at": f.expiresAt.UTC().Format(time.RFC3339)}
	for _, kv := range f.settings() {
		m[kv[0].(string)] = kv[1]
	}
	return m
}

// describe is the settings part of the [FAULT] line: "route=/hello ratio=0.5".
func (f *fault) describe() string {
	var parts []string
	for _, kv := range f.settings() {
		parts = append(parts, fmt.Sprintf("%s=%v", kv[0], kv[1]))
	}
	return strings.Join(parts, " ")
}

// faultChange is one switch change: on (f set) or off with its reason.
type faultChange struct {
	kind   string
	on     *fault
	reason string // off: "request" or "expired"
}

// faultSwitches holds the kinds that are on. Expired faults are turned off
// lazily by every reader and by a timer per fault.
type faultSwitches struct {
	mu       sync.Mutex
	on       map[string]*fault
	timers   map[string]*time.Timer
	now      func() time.Time
	onChange func(faultChange) // called outside the lock
}

func newFaultSwitches(onChange func(faultChange)) *faultSwitches {
	return &faultSwitches{on: map[string]*fault{}, timers: map[string]*time.Timer{}, now: time.Now, onChange: onChange}
}

// expireLocked removes due faults and returns their changes.
func (s *faultSwitches) expireLocked() []faultChange {
	var out []faultChange
	now := s.now()
	for _, k := range faultKinds {
		if f := s.on[k]; f != nil && !now.Before(f.expiresAt) {
			out = append(out, s.offLocked(k, "expired"))
		}
	}
	return out
}

func (s *faultSwitches) offLocked(kind, reason string) faultChange {
	delete(s.on, kind)
	if t := s.timers[kind]; t != nil {
		t.Stop()
		delete(s.timers, kind)
	}
	return faultChange{kind: kind, reason: reason}
}

func (s *faultSwitches) report(changes []faultChange) {
	if s.onChange == nil {
		return
	}
	for _, c := range changes {
		s.onChange(c)
	}
}

// active returns the kind's fault if it is on (after expiring due faults).
func (s *faultSwitches) active(kind string) *fault {
	s.mu.Lock()
	changes := s.expireLocked()
	f := s.on[kind]
	s.mu.Unlock()
	s.report(changes)
	return f
}

// onRoute returns the kind's fault if it is on for route.
func (s *faultSwitches) onRoute(kind, route string) *fault {
	if f := s.active(kind); f != nil && f.route == route {
		return f
	}
	return nil
}

// errorHit decides whether this request on route fails by the errors fault.
func (s *faultSwitches) errorHit(route string) bool {
	f := s.onRoute(faultErrors, route)
	return f != nil && rand.Float64() < f.ratio
}

// snapshot is the GET /admin/faults "faults" object.
func (s *faultSwitches) snapshot() map[string]any {
	s.mu.Lock()
	changes := s.expireLocked()
	out := map[string]any{}
	for _, k := range faultKinds {
		if f := s.on[k]; f != nil {
			out[k] = f.doc()
		} else {
			out[k] = nil
		}
	}
	s.mu.Unlock()
	s.report(changes)
	return out
}

// set applies a parsed request: f on, or kind off.
func (s *faultSwitches) set(kind string, f *fault) {
	s.mu.Lock()
	changes := s.expireLocked()
	if f == nil {
		if s.on[kind] != nil {
			changes = append(changes, s.offLocked(kind, "request"))
		}
	} else {
		if t := s.timers[kind]; t != nil {
			t.Stop()
		}
		f.expiresAt = s.now().Add(f.lasts)
		s.on[kind] = f
		s.timers[kind] = time.AfterFunc(f.lasts, func() { s.active(kind) })
		changes = append(changes, faultChange{kind: kind, on: f})
	}
	s.mu.Unlock()
	s.report(changes)
}

// faultRequest is a parsed POST /admin/faults body.
type faultRequest struct {
	kind  string
	fault *fault // nil: turn the kind off
}

// parseFaultRequest validates a POST body; the error is the 400's one line.
// hasNext says whether this app has a next service (for dependency).
func parseFaultRequest(body []byte, hasNext bool) (faultRequest, error) {
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&raw); err != nil || raw == nil || dec.More() {
		return faultRequest{}, fmt.Errorf(`body must be a JSON object like {"fault": "errors", "route": "/hello", "ratio": 0.5, "for": "10m"} or {"fault": "errors", "on": false}`)
	}
	var kind string
	if err := json.Unmarshal(raw["fault"], &kind); err != nil || !contains(faultKinds, kind) {
		return faultRequest{}, fmt.Errorf("fault must be one of %s", strings.Join(faultKinds, ", "))
	}
	allowed := map[string][]string{
		faultErrors:     {"route", "ratio"},
		faultLatency:    {"route", "delay"},
		faultLeak:       {"cap_mib"},
		faultCPU:        {"route", "work"},
		faultDependency: {"mode", "timeout"},
	}[kind]
	if v, ok := raw["on"]; ok {
		var on bool
		if err := json.Unmarshal(v, &on); err != nil {
			return faultRequest{}, fmt.Errorf("on must be true or false")
		}
		if !on {
			for k := range raw {
				if k != "fault" && k != "on" {
					return faultRequest{}, fmt.Errorf("unknown key %q: turning a fault off takes only fault and on", k)
				}
			}
			return faultRequest{kind: kind}, nil
		}
	}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k != "fault" && k != "on" && k != "for" && !contains(allowed, k) {
			return faultRequest{}, fmt.Errorf("unknown key %q for %s: accepted keys are %s, for, on", k, kind, strings.Join(allowed, ", "))
		}
	}
	if kind == faultDependency && !hasNext {
		return faultRequest{}, fmt.Errorf("dependency needs a next service: NEXT_SERVICE_URL is not set for this app")
	}
	f := &fault{kind: kind, route: "/hello", ratio: 0.5, delay: 2 * time.Second, capMiB: 256, work: 200 * time.Millisecond,
		mode: "error", timeout: time.Second, lasts: defaultFaultFor}
	var err error
	if v, ok := raw["for"]; ok {
		if f.lasts, err = durationValue("for", v, maxFaultFor); err != nil {
			return faultRequest{}, err
		}
	}
	if v, ok := raw["route"]; ok {
		if err := json.Unmarshal(v, &f.route); err != nil || !contains(faultRoutes, f.route) {
			return faultRequest{}, fmt.Errorf("route must be one of %s", strings.Join(faultRoutes, ", "))
		}
	}
	if v, ok := raw["ratio"]; ok {
		if err := json.Unmarshal(v, &f.ratio); err != nil || !(f.ratio > 0 && f.ratio <= 1) {
			return faultRequest{}, fmt.Errorf("ratio must be a number above 0 and at most 1")
		}
	}
	if v, ok := raw["delay"]; ok {
		if f.delay, err = durationValue("delay", v, maxFaultDelay); err != nil {
			return faultRequest{}, err
		}
	}
	if v, ok := raw["work"]; ok {
		if f.work, err = durationValue("work", v, maxFaultWork); err != nil {
			return faultRequest{}, err
		}
	}
	if v, ok := raw["timeout"]; ok {
		if f.timeout, err = durationValue("timeout", v, maxFaultTimeout); err != nil {
			return faultRequest{}, err
		}
	}
	if v, ok := raw["cap_mib"]; ok {
		if err := json.Unmarshal(v, &f.capMiB); err != nil || f.capMiB < 1 || f.capMiB > 1024 {
			return faultRequest{}, fmt.Errorf("cap_mib must be an integer from 1 to 1024")
		}
	}
	if v, ok := raw["mode"]; ok {
		if err := json.Unmarshal(v, &f.mode); err != nil || (f.mode != "error" && f.mode != "timeout") {
			return faultRequest{}, fmt.Errorf(`mode must be "error" or "timeout"`)
		}
	}
	return faultRequest{kind: kind, fault: f}, nil
}

// durationValue reads a duration given as a string ("90s", "200ms", "1h") or
// a number of seconds, above 0 and at most max.
func durationValue(key string, v json.RawMessage, max time.Duration) (time.Duration, error) {
	bad := fmt.Errorf(`%s must be a duration like "90s", "500ms" or "5m", or a number of seconds, above 0 and at most %s`, key, shortDuration(max))
	var d time.Duration
	var s string
	var secs float64
	switch {
	case json.Unmarshal(v, &s) == nil:
		parsed, err := time.ParseDuration(strings.TrimSpace(s))
		if err != nil {
			if n, err2 := strconv.ParseFloat(strings.TrimSpace(s), 64); err2 == nil {
				parsed = time.Duration(n * float64(time.Second))
			} else {
				return 0, bad
			}
		}
		d = parsed
	case json.Unmarshal(v, &secs) == nil:
		if secs > max.Seconds() {
			return 0, bad
		}
		d = time.Duration(secs * float64(time.Second))
	default:
		return 0, bad
	}
	if d <= 0 || d > max {
		return 0, bad
	}
	return d, nil
}

// shortDuration prints 10m, 1h, 90s, 200ms (Go's String says 10m0s).
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
