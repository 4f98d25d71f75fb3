package io.lgtmp.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.springframework.mock.env.MockEnvironment;

/** The regex, its bound, and the linear fix. */
class EmailCheckerTest {

    private static final Pattern SEED = Pattern.compile(EmailChecker.EMAIL_REGEX);

    private static EmailChecker checker(String mode) {
        return new EmailChecker(new DemoSettings(new MockEnvironment().withProperty("REGEX_MODE", mode)));
    }

    @Test
    void seedRegexAndSampleAreUnchanged() {
        assertEquals("^(\\w+([-.][A-Za-z0-9]+)*){3,18}@\\w+([-.][A-Za-z0-9]+)*\\.\\w+([-.][A-Za-z0-9]+)*$",
                EmailChecker.EMAIL_REGEX);
        assertEquals("rosamariachoccelahuaaranda70@gmail.comnnbbb.bbNG.bbb.n\u00bf.?n", EmailChecker.SEED_SAMPLE);
        assertEquals(28, EmailChecker.SAMPLE_LOCAL_PART_LENGTH);
    }

    @Test
    void boundedSampleKeepsTheDomainPart() {
        assertEquals("rosamariac@gmail.comnnbbb.bbNG.bbb.n\u00bf.?n", EmailChecker.boundedSample(10));
        assertEquals(EmailChecker.SEED_SAMPLE, EmailChecker.boundedSample(999));
        assertEquals("r@gmail.comnnbbb.bbNG.bbb.n\u00bf.?n", EmailChecker.boundedSample(0));
    }

    @Test
    void backtrackingGrowsWithTheBoundAndOneCallStaysShort() {
        EmailChecker bad = checker("bad");
        String small = EmailChecker.boundedSample(6);
        String dflt = EmailChecker.boundedSample(10);
        bad.checkEmail(dflt, 3); // warm up
        long t0 = System.nanoTime();
        assertFalse(bad.checkEmail(small, 20));
        long smallNs = System.nanoTime() - t0;
        t0 = System.nanoTime();
        assertFalse(bad.checkEmail(dflt, 20));
        long dfltNs = System.nanoTime() - t0;
        assertTrue(dfltNs > smallNs, "4 more local-part characters must cost more: " + smallNs + " vs " + dfltNs);
        assertTrue(dfltNs / 20 < 1_000_000_000L, "one bounded call must stay well under a second: " + dfltNs / 20);
    }

    @Test
    void linearCheckAgreesWithTheRegexOnTypicalInput() {
        String[] inputs = {
            "john.doe@example.com", "alice-smith@mail.example.org", "abc@x.io", "a_b_c@host.com",
            "ab@example.com", "a.b@example.com", "abc@example", "abc@@example.com", "abc@example..com",
            "abc.@example.com", ".abc@example.com", "abc@example.com.", "a-b-c@ex-ample.co.uk",
            "r\u00f6sa@example.com", "abc@exa mple.com", "abcd@host._x", "user+tag@example.com",
            EmailChecker.boundedSample(8), "", "@", "abc@", "@example.com"
        };
        for (String s : inputs) {
            assertEquals(SEED.matcher(s).matches(), EmailChecker.linearCheck(s), "input: " + s);
        }
    }

    @Test
    void modesGiveTheSameAnswer() {
        EmailChecker bad = checker("bad");
        EmailChecker fixed = checker("FIXED");
        assertEquals(RegexMode.FIXED, fixed.mode());
        assertTrue(bad.checkEmail("john.doe@example.com", 2));
        assertTrue(fixed.checkEmail("john.doe@example.com", 2));
        assertFalse(fixed.checkEmail(EmailChecker.SEED_SAMPLE, 1000), "the full sample is instant in fixed mode");
        bad.setMode(RegexMode.FIXED);
        assertEquals(RegexMode.FIXED, bad.mode());
    }

    @Test
    void settingsFallBackOnBadValues() {
        DemoSettings s = new DemoSettings(new MockEnvironment()
                .withProperty("SLOW_ITERATIONS", "lots")
                .withProperty("ALLOC_MAX_BATCHES", "-3")
                .withProperty("TRAFFIC_RPS", "0")
                .withProperty("REGEX_MODE", "sometimes")
                .withProperty("TRAFFIC_MIX", "slow=2,bogus=5,hello=x")
                .withProperty("TRAFFIC_GENERATOR", "off")
                .withProperty("NEXT_SERVICE_URL", "http://python-demo-app:18082/"));
        assertEquals(DemoSettings.DEFAULT_SLOW_ITERATIONS, s.slowIterations());
        assertEquals(20, s.allocMaxBatches());
        assertEquals(1.0, s.trafficRps());
        assertEquals(RegexMode.BAD, s.initialRegexMode());
        assertEquals(java.util.Map.of("slow", 2), s.trafficMix());
        assertFalse(s.trafficEnabled());
        assertEquals("http://python-demo-app:18082", s.nextServiceUrl());
        DemoSettings d = new DemoSettings(new MockEnvironment());
        assertTrue(d.trafficEnabled());
        assertEquals(18081, d.port());
        assertEquals(10, d.slowLocalChars());
        assertEquals(200, d.allocChunks());
        assertEquals(256, d.allocChunkKib());
        assertEquals(2, d.trafficConcurrency());
    }
}
