package io.lgtmp.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.mock.env.MockEnvironment;

/** Numbers out of range or unparsable fall back to the default with a warning, as in the other apps. */
@ExtendWith(OutputCaptureExtension.class)
class DemoSettingsTest {

    @Test
    void badNumbersFallBackToTheDefaultWithAWarning(CapturedOutput output) {
        DemoSettings s = new DemoSettings(new MockEnvironment()
                .withProperty("PORT", "70000")
                .withProperty("SLOW_ITERATIONS", "2.5")
                .withProperty("ALLOC_CHUNKS", "100001")
                .withProperty("TRAFFIC_RPS", "500")
                .withProperty("TRAFFIC_CONCURRENCY", "NaN"));
        assertEquals(18081, s.port());
        assertEquals(DemoSettings.DEFAULT_SLOW_ITERATIONS, s.slowIterations());
        assertEquals(200, s.allocChunks(), "above the maximum: the default, not the maximum");
        assertEquals(1.0, s.trafficRps(), "above the maximum: the default, not the maximum");
        assertEquals(2, s.trafficConcurrency());
        for (String name : new String[] {"PORT", "SLOW_ITERATIONS", "ALLOC_CHUNKS", "TRAFFIC_RPS", "TRAFFIC_CONCURRENCY"}) {
            assertTrue(output.getAll().contains(name + "="), "a warning for " + name + ": " + output.getAll());
        }
        assertTrue(output.getAll().contains("TRAFFIC_RPS=500 is not a number in 0.01..100.0; using 1.0"), output.getAll());
    }

    @Test
    void nanIsOutOfRange() {
        DemoSettings s = new DemoSettings(new MockEnvironment().withProperty("TRAFFIC_RPS", "NaN"));
        assertEquals(1.0, s.trafficRps());
    }
}
