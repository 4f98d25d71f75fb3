package main

// config.go: the app's own settings from the environment. A bad value never
// stops the app: it is reported and the default is used.

import (
	"fmt"
	"strconv"
	"strings"
)

type config struct {
	port           int
	slowIterations int
	allocChunks    int
	allocChunkKiB  int
	allocMaxBatch  int
	regexMode      string
	nextServiceURL string
	traffic        trafficConfig
}

// loadConfig reads the settings through getenv (os.Getenv in main, a map in
// tests) and returns them with a warning for each value it ignored.
func loadConfig(getenv func(string) string) (config, []string) {
	var warns []string
	intVar := func(name string, def, lo, hi int) int {
		v := strings.TrimSpace(getenv(name))
		if v == "" {
			return def
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			warns = append(warns, fmt.Sprintf("%s=%q ignored: want an integer from %d to %d; using %d", name, v, lo, hi, def))
			return def
		}
		return n
	}
	c := config{
		port:           intVar("PORT", 8080, 1, 65535),
		slowIterations: intVar("SLOW_ITERATIONS", defaultSlowIterations, minSlowIterations, maxSlowIterations),
		allocChunks:    intVar("ALLOC_CHUNKS", 200, 1, 4096),
		allocChunkKiB:  intVar("ALLOC_CHUNK_KIB", 256, 1, 16384),
		allocMaxBatch:  intVar("ALLOC_MAX_BATCHES", 20, 1, 1000),
		regexMode:      regexModeBad,
		nextServiceURL: strings.TrimRight(strings.TrimSpace(getenv("NEXT_SERVICE_URL")), "/"),
	}
	switch m := strings.ToLower(strings.TrimSpace(getenv("REGEX_MODE"))); m {
	case "", regexModeBad:
	case regexModeFixed:
		c.regexMode = regexModeFixed
	default:
		warns = append(warns, fmt.Sprintf("REGEX_MODE=%q ignored: want bad or fixed; using bad", m))
	}
	var tw []string
	c.traffic, tw = parseTrafficConfig(getenv)
	warns = append(warns, tw...)
	return c, warns
}
