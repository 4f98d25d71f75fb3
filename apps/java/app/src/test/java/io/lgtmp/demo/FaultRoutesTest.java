package io.lgtmp.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.core.env.Environment;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * The fault switches through the app's routes, started for real without an agent. The next service of the
 * chain is a local HTTP server that answers like a demo app: /hello?fail=true 500, /slow after 2 s.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "TRAFFIC_GENERATOR=off", "ALLOC_MAX_BATCHES=2", "ALLOC_CHUNKS=4", "ALLOC_CHUNK_KIB=64"})
@ExtendWith(OutputCaptureExtension.class)
class FaultRoutesTest {

    private static final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private static final List<String> nextCalls = new CopyOnWriteArrayList<>();
    private static final HttpServer next = startNext();

    private static HttpServer startNext() {
        try {
            HttpServer s = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
            s.createContext("/", ex -> {
                String uri = ex.getRequestURI().toString();
                nextCalls.add(uri);
                int status = uri.contains("fail=true") ? 500 : 200;
                if (uri.startsWith("/slow")) {
                    try {
                        Thread.sleep(2000);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
                try {
                    ex.sendResponseHeaders(status, -1);
                } catch (IOException e) {
                    // the caller gave up (timeout mode)
                }
                ex.close();
            });
            s.start();
            return s;
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @DynamicPropertySource
    static void nextService(DynamicPropertyRegistry registry) {
        registry.add("NEXT_SERVICE_URL", () -> "http://127.0.0.1:" + next.getAddress().getPort());
    }

    @AfterAll
    static void stopNext() {
        next.stop(0);
    }

    @Autowired
    Environment env;

    HttpResponse<String> send(String method, String path, String body) throws Exception {
        HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + env.getProperty("local.server.port") + path))
                .timeout(Duration.ofSeconds(60)).header("content-type", "application/json")
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body))
                .build();
        return http.send(req, HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<String> post(String body) throws Exception {
        HttpResponse<String> res = send("POST", "/admin/faults", body);
        return res;
    }

    HttpResponse<String> get(String path) throws Exception {
        return send("GET", path, null);
    }

    @AfterEach
    void allOff() throws Exception {
        for (FaultKind k : FaultKind.values()) {
            assertEquals(200, post("{\"fault\":\"" + k.id() + "\",\"on\":false}").statusCode());
        }
    }

    @Test
    void getShowsEveryKindAndPostAnswersTheSameDocument() throws Exception {
        HttpResponse<String> doc = get("/admin/faults");
        assertEquals(200, doc.statusCode());
        assertEquals("{\"faults\":{\"errors\":null,\"latency\":null,\"leak\":null,\"cpu\":null,\"dependency\":null},"
                + "\"regex_mode\":\"bad\"}", doc.body());
        HttpResponse<String> on = post("{\"fault\":\"errors\",\"route\":\"/slow\",\"ratio\":1,\"for\":\"5m\"}");
        assertEquals(200, on.statusCode(), on.body());
        assertTrue(on.body().matches("\\{\"faults\":\\{\"errors\":\\{\"route\":\"/slow\",\"ratio\":1.0,\"expires_at\":"
                + "\"\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ\"},\"latency\":null.*"), on.body());
        assertEquals(on.body(), get("/admin/faults").body());
    }

    @Test
    void badInputIs400WithTheReasonAndChangesNothing() throws Exception {
        post("{\"fault\":\"latency\",\"delay\":\"1ms\"}");
        String before = get("/admin/faults").body();
        for (String bad : new String[] {"nope", "{\"fault\":\"errors\",\"ratio\":2}", "{\"fault\":\"x\"}", null}) {
            HttpResponse<String> res = post(bad);
            assertEquals(400, res.statusCode(), bad + ": " + res.body());
            assertTrue(res.body().startsWith("{\"error\":\""), res.body());
            assertEquals(before, get("/admin/faults").body(), "unchanged after " + bad);
        }
        assertEquals(405, send("PUT", "/admin/faults", "{}").statusCode());
        assertEquals(405, send("DELETE", "/admin/faults", null).statusCode());
        assertEquals(200, get("/hello").statusCode(), "still serving");
    }

    @Test
    void errorsFailTheirRouteLikeFailTrue(CapturedOutput output) throws Exception {
        post("{\"fault\":\"errors\",\"route\":\"/slow\",\"ratio\":1}");
        HttpResponse<String> failed = get("/slow?iterations=1");
        assertEquals(500, failed.statusCode(), failed.body());
        assertTrue(output.getAll().contains("{\"msg\":\"[ERROR] route=/slow method=GET status=500"), output.getAll());
        assertEquals(200, get("/hello").statusCode(), "other routes are not touched");
        post("{\"fault\":\"errors\",\"on\":false}");
        assertEquals(200, get("/slow?iterations=1").statusCode());
    }

    @Test
    void latencyAndCpuHoldTheirRoute(CapturedOutput output) throws Exception {
        post("{\"fault\":\"latency\",\"route\":\"/hello\",\"delay\":\"300ms\"}");
        post("{\"fault\":\"cpu\",\"route\":\"/alloc\",\"work\":\"200ms\"}");
        assertEquals(200, get("/hello?probe=latency").statusCode());
        assertEquals(200, get("/alloc").statusCode());
        // the request log's duration is at least the fault's delay / work
        assertTrue(output.getAll().matches("(?s).*route=/hello method=GET status=200 duration_ms=([3-9]\\d\\d|\\d{4,}) .*"),
                output.getAll());
        assertTrue(output.getAll().matches("(?s).*route=/alloc method=GET status=200 duration_ms=([2-9]\\d\\d|\\d{4,}) .*"),
                output.getAll());
    }

    @Test
    void leakGrowsToItsCapAndIsFreedWhenOff() throws Exception {
        post("{\"fault\":\"leak\",\"cap_mib\":1}");
        String last = "";
        for (int i = 0; i < 3; i++) {
            last = get("/alloc").body();
        }
        assertTrue(last.contains("\"leak\":{\"leaked_bytes\":786432,\"cap_bytes\":1048576,\"capped\":false}"), last);
        for (int i = 0; i < 3; i++) {
            last = get("/alloc").body();
        }
        assertTrue(last.contains("\"leaked_bytes\":1048576,\"cap_bytes\":1048576,\"capped\":true}"), "stops at its cap: " + last);
        assertTrue(last.contains("\"retained_batches\":2"), "the bounded staircase is unchanged: " + last);
        post("{\"fault\":\"leak\",\"on\":false}");
        post("{\"fault\":\"leak\",\"cap_mib\":1}");
        assertTrue(get("/alloc").body().contains("\"leaked_bytes\":262144,"), "off freed what the leak held");
    }

    @Test
    void dependencyFaultsFailTheChainCall() throws Exception {
        assertEquals(200, get("/chain").statusCode());
        assertEquals("/chain", nextCalls.get(nextCalls.size() - 1));
        post("{\"fault\":\"dependency\"}");
        HttpResponse<String> error = get("/chain");
        assertEquals(502, error.statusCode(), error.body());
        assertEquals("/hello?fail=true", nextCalls.get(nextCalls.size() - 1));
        post("{\"fault\":\"dependency\",\"mode\":\"timeout\",\"timeout\":\"200ms\"}");
        HttpResponse<String> timeout = get("/chain");
        assertEquals(504, timeout.statusCode(), timeout.body());
        assertEquals("/slow", nextCalls.get(nextCalls.size() - 1));
        assertTrue(timeout.body().contains("did not answer within 200ms"), timeout.body());
    }
}
