package io.lgtmp.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.core.env.Environment;

/** /chain with an unreachable NEXT_SERVICE_URL answers 502 JSON quickly, without crashing. */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "TRAFFIC_GENERATOR=off", "NEXT_SERVICE_URL=http://127.0.0.1:9/"})
class ChainTest {

    @Autowired
    Environment env;

    @Test
    void unreachableNextServiceIs502() throws Exception {
        String port = env.getProperty("local.server.port");
        HttpResponse<String> res = HttpClient.newHttpClient().send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/chain"))
                        .timeout(Duration.ofSeconds(30)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(502, res.statusCode(), res.body());
        assertTrue(res.body().contains("\"url\":\"http://127.0.0.1:9/chain\""), res.body());
    }
}
