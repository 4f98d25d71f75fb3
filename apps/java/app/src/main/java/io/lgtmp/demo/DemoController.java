package io.lgtmp.demo;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

/**
 * The demo routes (same meaning in the four demo apps): /hello, /slow, /alloc, /chain, /healthz
 * and POST /admin/regex. {@code ?fail=true} on any route answers 500 ({@link FailInterceptor});
 * bad parameters answer 400 and unknown routes 404 ({@link ApiErrors}).
 */
@RestController
public class DemoController {

    /** How long /chain waits for the next service when no dependency fault sets a timeout. */
    private static final Duration CHAIN_TIMEOUT = Duration.ofSeconds(30);

    private final DemoSettings settings;
    private final EmailChecker emailChecker;
    private final MemoryHog memoryHog;
    private final Faults faults;
    /** The JDK client: the javaagent instruments it (client span, W3C traceparent to the next service). */
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private final String slowInput;

    public DemoController(DemoSettings settings, EmailChecker emailChecker, MemoryHog memoryHog, Faults faults) {
        this.settings = settings;
        this.emailChecker = emailChecker;
        this.memoryHog = memoryHog;
        this.faults = faults;
        this.slowInput = EmailChecker.boundedSample(settings.slowLocalChars());
    }

    @GetMapping(value = "/hello", produces = MediaType.TEXT_PLAIN_VALUE)
    public String hello() {
        return "Hello World";
    }

    @GetMapping("/slow")
    public Map<String, Object> slow(@RequestParam(name = "iterations", required = false) String iterationsParam) {
        int iterations = settings.slowIterations();
        if (iterationsParam != null) {
            iterations = parseIterations(iterationsParam);
        }
        long started = System.nanoTime();
        boolean valid = emailChecker.checkEmail(slowInput, iterations);
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("route", "/slow");
        body.put("mode", emailChecker.mode().id());
        body.put("iterations", iterations);
        body.put("input", slowInput);
        body.put("valid", valid);
        body.put("duration_ms", (System.nanoTime() - started) / 1_000_000);
        return body;
    }

    static int parseIterations(String raw) {
        try {
            int n = Integer.parseInt(raw.trim());
            if (n >= DemoSettings.MIN_ITERATIONS && n <= DemoSettings.MAX_ITERATIONS) {
                return n;
            }
        } catch (NumberFormatException ignored) {
            // fall through
        }
        throw new BadRequestException("iterations must be an integer in " + DemoSettings.MIN_ITERATIONS + ".."
                + DemoSettings.MAX_ITERATIONS);
    }

    @GetMapping("/alloc")
    public Map<String, Object> alloc() {
        MemoryHog.Burst burst = memoryHog.allocateMemoryBurst();
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("route", "/alloc");
        body.put("chunks", burst.chunks());
        body.put("chunk_kib", burst.chunkKib());
        body.put("allocated_bytes", burst.allocatedBytes());
        body.put("retained_batches", burst.retainedBatches());
        body.put("retained_bytes", burst.retainedBytes());
        body.put("max_batches", burst.maxBatches());
        if (burst.leakCapBytes() > 0) {
            Map<String, Object> leak = new LinkedHashMap<>();
            leak.put("leaked_bytes", burst.leakedBytes());
            leak.put("cap_bytes", burst.leakCapBytes());
            leak.put("capped", burst.leakedBytes() >= burst.leakCapBytes());
            body.put("leak", leak);
        }
        return body;
    }

    /**
     * Calls the next service's /chain, then does a little work of its own. The dependency fault makes
     * the call fail instead: mode error calls {@code <next>/hello?fail=true} (the next service answers 500,
     * this one 502), mode timeout calls {@code <next>/slow} with the fault's client timeout (504).
     */
    @GetMapping("/chain")
    public ResponseEntity<Map<String, Object>> chain() {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("service", settings.serviceName());
        body.put("route", "/chain");
        String next = settings.nextServiceUrl();
        if (!next.isEmpty()) {
            Faults.Active fault = faults.get(FaultKind.DEPENDENCY);
            boolean timeoutMode = fault != null && fault.mode().equals("timeout");
            String url = next + (fault == null ? "/chain" : timeoutMode ? "/slow" : "/hello?fail=true");
            Duration timeout = timeoutMode ? fault.duration("timeout") : CHAIN_TIMEOUT;
            Map<String, Object> nextInfo = new LinkedHashMap<>();
            nextInfo.put("url", url);
            body.put("next", nextInfo);
            try {
                HttpResponse<Void> answer = http.send(HttpRequest.newBuilder(URI.create(url)).timeout(timeout).GET().build(),
                        HttpResponse.BodyHandlers.discarding());
                nextInfo.put("status", answer.statusCode());
                if (answer.statusCode() >= 400) {
                    body.put("error", "next service answered " + answer.statusCode());
                    return ResponseEntity.status(502).body(body);
                }
            } catch (HttpTimeoutException e) {
                body.put("error", "next service did not answer within " + Durations.format(timeout));
                return ResponseEntity.status(504).body(body);
            } catch (IOException e) {
                body.put("error", "next service unreachable: " + e);
                return ResponseEntity.status(502).body(body);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                body.put("error", "interrupted while calling the next service");
                return ResponseEntity.status(502).body(body);
            }
        }
        // a little work of our own after the downstream call
        body.put("valid", emailChecker.checkEmail("demo.user@example.com", 200));
        return ResponseEntity.ok(body);
    }

    @GetMapping("/healthz")
    public Map<String, Object> healthz() {
        return Map.of("status", "ok");
    }

    @GetMapping("/admin/regex")
    public Map<String, Object> regexMode() {
        return Map.of("mode", emailChecker.mode().id());
    }

    @PostMapping("/admin/regex")
    public Map<String, Object> setRegexMode(@RequestParam(name = "mode", required = false) String mode) {
        RegexMode parsed = RegexMode.parse(mode);
        if (parsed == null) {
            throw new BadRequestException("mode must be 'bad' or 'fixed'");
        }
        emailChecker.setMode(parsed);
        return Map.of("mode", parsed.id());
    }
}
