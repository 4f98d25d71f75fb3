package io.lgtmp.demo;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

/** With TRAFFIC_GENERATOR=on the app calls its own routes, picked from TRAFFIC_MIX. */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "TRAFFIC_GENERATOR=on", "TRAFFIC_RPS=10", "TRAFFIC_CONCURRENCY=1", "TRAFFIC_MIX=hello=1"})
@ExtendWith(OutputCaptureExtension.class)
class TrafficGeneratorTest {

    @Test
    void callsTheMixRoutes(CapturedOutput output) throws Exception {
        long deadline = System.currentTimeMillis() + 20_000;
        int seen = 0;
        while (System.currentTimeMillis() < deadline) {
            seen = output.getAll().split("\\[OK\\] route=/hello method=GET status=200", -1).length - 1;
            if (seen >= 3) {
                break;
            }
            Thread.sleep(200);
        }
        assertTrue(seen >= 3, "the generator made /hello requests: " + seen);
        assertTrue(!output.getAll().contains("route=/slow"), "only routes of TRAFFIC_MIX are called");
    }
}
