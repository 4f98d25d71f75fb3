package main

// procmem.go: process memory metrics next to the Go runtime metrics, so the
// /alloc staircase (RSS rising by ~50 MiB per call, then a plateau) shows in
// Mimir as process_memory_usage_bytes.

import (
	"context"
	"os"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/metric"
)

// readStatm returns resident and virtual memory in bytes from
// /proc/self/statm (Linux); ok is false elsewhere.
func readStatm() (rss, virtual int64, ok bool) {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, 0, false
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0, 0, false
	}
	size, err1 := strconv.ParseInt(f[0], 10, 64)
	res, err2 := strconv.ParseInt(f[1], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, false
	}
	page := int64(os.Getpagesize())
	return res * page, size * page, true
}

// registerProcessMemory adds process.memory.usage (RSS) and
// process.memory.virtual, named as in the OpenTelemetry semantic conventions.
func registerProcessMemory(m metric.Meter) error {
	usage, err := m.Int64ObservableUpDownCounter("process.memory.usage",
		metric.WithUnit("By"), metric.WithDescription("The amount of physical memory in use (RSS)."))
	if err != nil {
		return err
	}
	virtual, err := m.Int64ObservableUpDownCounter("process.memory.virtual",
		metric.WithUnit("By"), metric.WithDescription("The amount of committed virtual memory."))
	if err != nil {
		return err
	}
	retained, err := m.Int64ObservableUpDownCounter("demo.alloc.retained",
		metric.WithUnit("By"), metric.WithDescription("Bytes kept alive by /alloc (allocateMemoryBurst batches)."))
	if err != nil {
		return err
	}
	_, err = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		if rss, vm, ok := readStatm(); ok {
			o.ObserveInt64(usage, rss)
			o.ObserveInt64(virtual, vm)
		}
		o.ObserveInt64(retained, retainedBytes())
		return nil
	}, usage, virtual, retained)
	return err
}
