package main

// memlimit.go: keep the Go heap inside the container's memory limit.
// /alloc keeps up to ALLOC_MAX_BATCHES x 50 MiB (~1 GiB) alive on purpose;
// with the default GOGC the heap may grow to twice the live data before a
// collection, which would pass compose's mem_limit and get the app
// OOM-killed. When GOMEMLIMIT is not set, the soft limit is set to 85% of
// the cgroup's memory limit, so the collector works harder instead.

import (
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// cgroupMemoryLimit returns the memory limit in bytes of this process's
// cgroup (v2, then v1), or 0 when there is none.
func cgroupMemoryLimit() int64 {
	for _, p := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		v := strings.TrimSpace(string(b))
		if v == "max" {
			return 0
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 || n >= 1<<50 { // v1 reports "no limit" as a huge number
			return 0
		}
		return n
	}
	return 0
}

// applyMemoryLimit sets the soft memory limit and returns it (0: unchanged).
func applyMemoryLimit() int64 {
	if os.Getenv("GOMEMLIMIT") != "" {
		return 0
	}
	limit := cgroupMemoryLimit()
	if limit == 0 {
		return 0
	}
	soft := limit / 100 * 85
	debug.SetMemoryLimit(soft)
	return soft
}
