package io.lgtmp.demo;

import io.opentelemetry.instrumentation.annotations.WithSpan;
import java.time.Duration;

/**
 * What the latency and cpu faults do on a request. The sleep is a child span of the server span named
 * {@code injected_latency}, as in every app: the agent's annotation instrumentation reads {@link WithSpan}
 * (the app's only OpenTelemetry dependency, an annotation; the method instrumentation used for checkEmail can
 * only name spans {@code Class.method}). {@link #burnCpu(Duration)} is the cpu fault's own frame in the CPU
 * flame graph.
 */
final class FaultEffects {

    /** Written by the hot loop so the JIT cannot drop it. */
    private static volatile long sink;

    private FaultEffects() {
    }

    @WithSpan("injected_latency")
    static void injectedLatency(Duration delay) {
        try {
            Thread.sleep(delay.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Spins one core for {@code work} (wall time), doing arithmetic the JIT cannot remove. */
    static void burnCpu(Duration work) {
        long deadline = System.nanoTime() + work.toNanos();
        long x = sink | 1;
        while (System.nanoTime() < deadline) {
            for (int i = 0; i < 10_000; i++) {
                x ^= x << 13;
                x ^= x >>> 7;
                x ^= x << 17;
            }
        }
        sink = x;
    }
}
