package main

import (
	"strings"
	"testing"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestConfigDefaults(t *testing.T) {
	c, warns := loadConfig(envOf(nil))
	if len(warns) != 0 {
		t.Fatal(warns)
	}
	if c.port != 8080 || c.slowIterations != defaultSlowIterations || c.allocChunks != 200 || c.allocChunkKiB != 256 ||
		c.allocMaxBatch != 20 || c.regexMode != regexModeBad || c.nextServiceURL != "" {
		t.Errorf("%+v", c)
	}
	if !c.traffic.enabled || c.traffic.rps != 1 || c.traffic.concurrency != 2 {
		t.Errorf("traffic %+v", c.traffic)
	}
}

func TestConfigFromEnv(t *testing.T) {
	c, warns := loadConfig(envOf(map[string]string{
		"PORT": "18080", "SLOW_ITERATIONS": "1234", "ALLOC_CHUNKS": "10", "ALLOC_CHUNK_KIB": "64",
		"ALLOC_MAX_BATCHES": "3", "REGEX_MODE": "fixed", "NEXT_SERVICE_URL": "http://java:18081/",
		"TRAFFIC_GENERATOR": "off",
	}))
	if len(warns) != 0 {
		t.Fatal(warns)
	}
	if c.port != 18080 || c.slowIterations != 1234 || c.allocChunks != 10 || c.allocChunkKiB != 64 ||
		c.allocMaxBatch != 3 || c.regexMode != regexModeFixed || c.nextServiceURL != "http://java:18081" || c.traffic.enabled {
		t.Errorf("%+v", c)
	}
}

func TestConfigBadValuesFallBackWithWarnings(t *testing.T) {
	c, warns := loadConfig(envOf(map[string]string{
		"PORT": "70000", "SLOW_ITERATIONS": "0", "ALLOC_CHUNKS": "x", "ALLOC_CHUNK_KIB": "-1",
		"ALLOC_MAX_BATCHES": "1000000", "REGEX_MODE": "worse", "TRAFFIC_GENERATOR": "maybe",
		"TRAFFIC_RPS": "1000", "TRAFFIC_CONCURRENCY": "0", "TRAFFIC_MIX": "slow=abc",
	}))
	if len(warns) != 10 {
		t.Errorf("want 10 warnings, got %d: %s", len(warns), strings.Join(warns, "\n"))
	}
	d, _ := loadConfig(envOf(nil))
	if c.port != d.port || c.slowIterations != d.slowIterations || c.allocChunks != d.allocChunks ||
		c.allocChunkKiB != d.allocChunkKiB || c.allocMaxBatch != d.allocMaxBatch || c.regexMode != regexModeBad ||
		!c.traffic.enabled || c.traffic.rps != 1 || c.traffic.concurrency != 2 || len(c.traffic.mix) != 4 {
		t.Errorf("%+v", c)
	}
}
