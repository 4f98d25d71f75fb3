package io.lgtmp.demo;

import java.time.Duration;

/**
 * What the latency and cpu faults do on a request. The javaagent's method instrumentation
 * (OTEL_INSTRUMENTATION_METHODS_INCLUDE=...;io.lgtmp.demo.FaultEffects[injected_latency]) makes the sleep
 * a child span of the server span, named {@code FaultEffects.injected_latency}: the agent names such spans
 * {@code Class.method}, so the method carries the contract's span name {@code injected_latency} (hence
 * the underscore). {@link #burnCpu(Duration)} is the cpu fault's own frame in the CPU flame graph.
 */
final class FaultEffects {

    /** Written by the hot loop so the JIT cannot drop it. */
    private static volatile long sink;

    private FaultEffects() {
    }

    static void injected_latency(Duration delay) {
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
