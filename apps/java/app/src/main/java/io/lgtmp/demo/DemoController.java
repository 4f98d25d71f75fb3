package io.lgtmp.demo;

import java.net.http.HttpClient;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.http.client.JdkClientHttpRequestFactory;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.client.RestClient;

/**
 * The demo routes (same meaning in the four demo apps): /hello, /slow, /alloc, /chain, /healthz
 * and POST /admin/regex. {@code ?fail=true} on any route answers 500 ({@link FailInterceptor});
 * bad parameters answer 400 and unknown routes 404 ({@link ApiErrors}).
 */
@RestController
public class DemoController {

    private final DemoSettings settings;
    private final EmailChecker emailChecker;
    private final MemoryHog memoryHog;
    private final RestClient restClient;
    private final String slowInput;

    public DemoController(DemoSettings settings, EmailChecker emailChecker, MemoryHog memoryHog) {
        this.settings = settings;
        this.emailChecker = emailChecker;
        this.memoryHog = memoryHog;
        this.slowInput = EmailChecker.boundedSample(settings.slowLocalChars());
        JdkClientHttpRequestFactory factory = new JdkClientHttpRequestFactory(
                HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build());
        factory.setReadTimeout(Duration.ofSeconds(30));
        this.restClient = RestClient.builder().requestFactory(factory).build();
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
        return body;
    }

    @GetMapping("/chain")
    public ResponseEntity<Map<String, Object>> chain() {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("service", settings.serviceName());
        body.put("route", "/chain");
        String next = settings.nextServiceUrl();
        if (!next.isEmpty()) {
            String url = next + "/chain";
            Map<String, Object> nextInfo = new LinkedHashMap<>();
            nextInfo.put("url", url);
            try {
                // The javaagent instruments the JDK HTTP client and adds the W3C traceparent header.
                ResponseEntity<String> answer = restClient.get().uri(url).retrieve()
                        .onStatus(s -> true, (req, res) -> { })
                        .toEntity(String.class);
                nextInfo.put("status", answer.getStatusCode().value());
                body.put("next", nextInfo);
                if (answer.getStatusCode().isError()) {
                    body.put("error", "next service answered " + answer.getStatusCode().value());
                    return ResponseEntity.status(502).body(body);
                }
            } catch (RuntimeException e) {
                body.put("next", nextInfo);
                body.put("error", "next service unreachable: " + e.getMessage());
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
