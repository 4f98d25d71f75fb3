package io.lgtmp.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.mock.env.MockEnvironment;

/** The fault switches' state, checks and expiry (docs/fault-switches.md), without Spring or an agent. */
@ExtendWith(OutputCaptureExtension.class)
class FaultsTest {

    /** A clock the test moves forward. */
    static final class TestClock extends Clock {
        Instant now = Instant.parse("2026-12-01T23:30:00Z");
        @Override public ZoneOffset getZone() { return ZoneOffset.UTC; }
        @Override public Clock withZone(java.time.ZoneId zone) { return this; }
        @Override public Instant instant() { return now; }
    }

    final TestClock clock = new TestClock();
    final SimpleMeterRegistry meters = new SimpleMeterRegistry();

    Faults faults(boolean hasNext) {
        MockEnvironment env = new MockEnvironment();
        if (hasNext) {
            env.setProperty("NEXT_SERVICE_URL", "http://next:1");
        }
        return new Faults(new DemoSettings(env), clock, meters, false);
    }

    double gauge(String kind) {
        return meters.get("lgtmp.fault.active").tag("fault", kind).gauge().value();
    }

    @Test
    void everyKindIsNullUntilTurnedOnThenShowsItsSettingsAndExpiry() {
        Faults f = faults(true);
        assertEquals(5, f.document().size());
        assertTrue(f.document().values().stream().allMatch(v -> v == null), f.document().toString());
        f.apply("{\"fault\":\"errors\"}");
        assertEquals(Map.of("route", "/hello", "ratio", 0.5, "expires_at", "2026-12-01T23:40:00Z"),
                f.document().get("errors"));
        f.apply("{\"fault\":\"latency\",\"route\":\"/slow\",\"delay\":\"1500ms\",\"for\":90}");
        assertEquals(Map.of("route", "/slow", "delay", "1500ms", "expires_at", "2026-12-01T23:31:30Z"),
                f.document().get("latency"));
        f.apply("{\"fault\":\"cpu\",\"work\":0.25,\"for\":\"1h\"}");
        assertEquals(Duration.ofMillis(250), f.onRoute(FaultKind.CPU, "/hello").duration("work"));
        assertNull(f.onRoute(FaultKind.CPU, "/slow"), "only the fault's route");
        f.apply("{\"fault\":\"leak\",\"cap_mib\":64}");
        assertEquals(64, f.get(FaultKind.LEAK).capMib());
        f.apply("{\"fault\":\"dependency\",\"mode\":\"timeout\",\"timeout\":\"2s\"}");
        assertEquals("timeout", f.get(FaultKind.DEPENDENCY).mode());
    }

    @Test
    void badInputIsRejectedWithItsReasonAndChangesNothing() {
        Faults f = faults(true);
        f.apply("{\"fault\":\"errors\",\"ratio\":0.2}");
        Map<String, Object> before = f.document();
        String[][] cases = {
            {"not json", "JSON object"}, {"[1]", "JSON object"}, {"", "JSON object"},
            {"{\"fault\":\"fire\"}", "fault must be one of"}, {"{\"ratio\":1}", "fault must be one of"},
            {"{\"fault\":\"errors\",\"rate\":1}", "unknown key 'rate'"},
            {"{\"fault\":\"errors\",\"ratio\":0}", "ratio"}, {"{\"fault\":\"errors\",\"ratio\":1.5}", "ratio"},
            {"{\"fault\":\"errors\",\"ratio\":\"1\"}", "ratio"},
            {"{\"fault\":\"errors\",\"route\":\"/admin/faults\"}", "route must be one of"},
            {"{\"fault\":\"errors\",\"for\":\"2h\"}", "for must be"}, {"{\"fault\":\"errors\",\"for\":\"soon\"}", "for must be"},
            {"{\"fault\":\"errors\",\"for\":-5}", "for must be"},
            {"{\"fault\":\"latency\",\"delay\":\"31s\"}", "delay"}, {"{\"fault\":\"cpu\",\"work\":\"3s\"}", "work"},
            {"{\"fault\":\"leak\",\"cap_mib\":0}", "cap_mib"}, {"{\"fault\":\"leak\",\"cap_mib\":1025}", "cap_mib"},
            {"{\"fault\":\"leak\",\"cap_mib\":1.5}", "cap_mib"},
            {"{\"fault\":\"dependency\",\"mode\":\"slow\"}", "mode"},
            {"{\"fault\":\"errors\",\"on\":\"no\"}", "on must be"},
            {"{\"fault\":\"errors\",\"on\":false,\"ratio\":7}", "ratio"},
        };
        for (String[] c : cases) {
            BadRequestException e = assertThrows(BadRequestException.class, () -> f.apply(c[0]), c[0]);
            assertTrue(e.getMessage().contains(c[1]), c[0] + " -> " + e.getMessage());
            assertEquals(before, f.document(), "unchanged after " + c[0]);
        }
        BadRequestException noNext = assertThrows(BadRequestException.class,
                () -> faults(false).apply("{\"fault\":\"dependency\"}"));
        assertTrue(noNext.getMessage().contains("NEXT_SERVICE_URL"), noNext.getMessage());
    }

    @Test
    void aFaultExpiresByItselfAndTurnsOffOnRequest(CapturedOutput output) {
        Faults f = faults(false);
        List<FaultKind> off = new ArrayList<>();
        f.onOff(off::add);
        f.apply("{\"fault\":\"leak\",\"for\":\"90s\"}");
        f.apply("{\"fault\":\"errors\",\"route\":\"/slow\",\"ratio\":1}");
        assertEquals(1.0, gauge("leak"));
        assertTrue(output.getAll().contains(
                "{\"msg\":\"[FAULT] leak on cap_mib=256 for=90s\",\"fault\":\"leak\",\"state\":\"on\",\"level\":\"warn\"}"),
                output.getAll());
        assertTrue(output.getAll().contains("[FAULT] errors on route=/slow ratio=1 for=10m"), output.getAll());
        clock.now = clock.now.plusSeconds(89);
        assertTrue(f.get(FaultKind.LEAK) != null, "still on before its expiry");
        clock.now = clock.now.plusSeconds(1);
        assertNull(f.get(FaultKind.LEAK), "off at its expiry");
        assertEquals(List.of(FaultKind.LEAK), off);
        assertEquals(0.0, gauge("leak"));
        assertTrue(output.getAll().contains(
                "{\"msg\":\"[FAULT] leak off (expired)\",\"fault\":\"leak\",\"state\":\"off\",\"level\":\"warn\"}"),
                output.getAll());
        f.apply("{\"fault\":\"errors\",\"on\":false}");
        assertNull(f.document().get("errors"));
        assertTrue(output.getAll().contains("[FAULT] errors off (request)"), output.getAll());
        assertEquals(List.of(FaultKind.LEAK, FaultKind.ERRORS), off);
        f.apply("{\"fault\":\"errors\",\"on\":false}");
        assertEquals(List.of(FaultKind.LEAK, FaultKind.ERRORS), off, "turning off what is off logs and frees nothing");
    }

    @Test
    void durationsReadAndWriteTheApiForms() {
        assertEquals(Duration.ofMillis(200), Durations.parse("200ms"));
        assertEquals(Duration.ofSeconds(90), Durations.parse("90s"));
        assertEquals(Duration.ofMinutes(5), Durations.parse("5m"));
        assertEquals(Duration.ofHours(1), Durations.parse("1h"));
        assertEquals(Duration.ofMillis(1500), Durations.parse(1.5));
        assertNull(Durations.parse("5 minutes"));
        assertNull(Durations.parse("-1s"));
        assertEquals("200ms", Durations.format(Duration.ofMillis(200)));
        assertEquals("90s", Durations.format(Duration.ofSeconds(90)));
        assertEquals("10m", Durations.format(Duration.ofMinutes(10)));
        assertEquals("1h", Durations.format(Duration.ofHours(1)));
    }
}
