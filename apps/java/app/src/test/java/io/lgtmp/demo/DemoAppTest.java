package io.lgtmp.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.core.env.Environment;

/** The routes of java-demo-app, started for real on a random port, without any agent. */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "TRAFFIC_GENERATOR=off", "SLOW_ITERATIONS=5", "ALLOC_MAX_BATCHES=2", "ALLOC_CHUNKS=4",
        "ALLOC_CHUNK_KIB=16"})
@ExtendWith(OutputCaptureExtension.class)
class DemoAppTest {

    private static final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @Autowired
    Environment env;

    @Autowired
    EmailChecker emailChecker;

    HttpResponse<String> send(String method, String path) throws Exception {
        String port = env.getProperty("local.server.port");
        HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(60)).method(method, HttpRequest.BodyPublishers.noBody()).build();
        return http.send(req, HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<String> get(String path) throws Exception {
        return send("GET", path);
    }

    static void assertJson(HttpResponse<String> res) {
        assertTrue(res.headers().firstValue("content-type").orElse("").startsWith("application/json"),
                "JSON answer expected, got " + res.headers().firstValue("content-type") + ": " + res.body());
    }

    @Test
    void helloAndHealthz() throws Exception {
        HttpResponse<String> hello = get("/hello");
        assertEquals(200, hello.statusCode());
        assertEquals("Hello World", hello.body());
        HttpResponse<String> health = get("/healthz");
        assertEquals(200, health.statusCode());
        assertJson(health);
        assertEquals("{\"status\":\"ok\"}", health.body());
    }

    @Test
    void slowRunsTheRegexAndValidatesIterations() throws Exception {
        HttpResponse<String> ok = get("/slow?iterations=3");
        assertEquals(200, ok.statusCode(), ok.body());
        assertTrue(ok.body().contains("\"iterations\":3"), ok.body());
        assertTrue(ok.body().contains("\"valid\":false"), ok.body());
        HttpResponse<String> dflt = get("/slow");
        assertEquals(200, dflt.statusCode(), dflt.body());
        assertTrue(dflt.body().contains("\"iterations\":5"), "SLOW_ITERATIONS used: " + dflt.body());
        for (String bad : new String[] {"abc", "0", "-1", "100001", "1.5", ""}) {
            HttpResponse<String> res = get("/slow?iterations=" + bad);
            assertEquals(400, res.statusCode(), "iterations=" + bad + ": " + res.body());
            assertJson(res);
        }
        assertEquals(200, get("/slow?iterations=1&fail=false").statusCode(), "lower bound and fail=false accepted");
    }

    @Test
    void unknownRouteIs404Json() throws Exception {
        HttpResponse<String> res = get("/no/such/route");
        assertEquals(404, res.statusCode());
        assertJson(res);
        assertTrue(res.body().contains("\"error\":\"not found\""), res.body());
        HttpResponse<String> wrongMethod = send("POST", "/hello");
        assertEquals(405, wrongMethod.statusCode());
        assertJson(wrongMethod);
    }

    @Test
    void failTrueGives500OnEveryRoute() throws Exception {
        for (String route : new String[] {"/hello", "/slow", "/alloc", "/chain", "/healthz"}) {
            HttpResponse<String> res = get(route + "?fail=true");
            assertEquals(500, res.statusCode(), route);
            assertJson(res);
        }
        HttpResponse<String> bad = get("/hello?fail=maybe");
        assertEquals(400, bad.statusCode());
        assertJson(bad);
    }

    @Test
    void allocRetainsAtMostMaxBatches() throws Exception {
        String last = "";
        for (int i = 0; i < 4; i++) {
            HttpResponse<String> res = get("/alloc");
            assertEquals(200, res.statusCode(), res.body());
            last = res.body();
        }
        assertTrue(last.contains("\"retained_batches\":2"), last);
        assertTrue(last.contains("\"chunks\":4"), last);
        assertTrue(last.contains("\"chunk_kib\":16"), last);
        assertTrue(last.contains("\"retained_bytes\":" + (2L * 4 * 16 * 1024)), last);
    }

    @Test
    void chainWithoutNextServiceWorks() throws Exception {
        HttpResponse<String> res = get("/chain");
        assertEquals(200, res.statusCode(), res.body());
        assertTrue(res.body().contains("\"service\":\"java-demo-app\""), res.body());
    }

    @Test
    void regexModeSwitchesAtRuntime() throws Exception {
        try {
            HttpResponse<String> fixed = send("POST", "/admin/regex?mode=fixed");
            assertEquals(200, fixed.statusCode(), fixed.body());
            assertEquals("{\"mode\":\"fixed\"}", fixed.body());
            long t0 = System.nanoTime();
            HttpResponse<String> slow = get("/slow?iterations=100000");
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertEquals(200, slow.statusCode(), slow.body());
            assertTrue(slow.body().contains("\"mode\":\"fixed\""), slow.body());
            assertTrue(slow.body().contains("\"valid\":false"), slow.body());
            assertTrue(ms < 5000, "fixed mode is linear: 100000 checks took " + ms + " ms");
            assertEquals(400, send("POST", "/admin/regex?mode=quick").statusCode());
            assertEquals(400, send("POST", "/admin/regex").statusCode());
            assertEquals("{\"mode\":\"fixed\"}", get("/admin/regex").body());
        } finally {
            HttpResponse<String> bad = send("POST", "/admin/regex?mode=bad");
            assertEquals("{\"mode\":\"bad\"}", bad.body());
        }
        assertEquals(RegexMode.BAD, emailChecker.mode());
    }

    @Test
    void oneJsonRequestLogPerRequest(CapturedOutput output) throws Exception {
        get("/hello?probe=requestlog");
        get("/healthz?fail=true");
        String out = output.getAll();
        assertTrue(out.contains("{\"msg\":\"[OK] route=/hello method=GET status=200 duration_ms="), out);
        assertTrue(out.contains("\"route\":\"/hello\",\"method\":\"GET\",\"status\":200,\"duration_ms\":"), out);
        assertTrue(out.contains("{\"msg\":\"[ERROR] route=/healthz method=GET status=500"), out);
        assertTrue(out.contains("\"status\":500,"), out);
        assertTrue(out.contains(",\"level\":\"error\"}"), out);
        // without the javaagent there is no trace context: the ids are empty
        assertTrue(out.contains("\"trace_id\":\"\",\"span_id\":\"\""), out);
        assertFalse(out.contains("OpenTelemetry"), "no agent in unit tests");
    }
}
