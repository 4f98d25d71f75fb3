package io.lgtmp.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** The JSON message of the request log, with the ids the javaagent puts in the request attributes. */
class RequestLogFilterTest {

    @Test
    void okAndErrorMessages() {
        String t = "e72a9c5b8f0d4a1e9b3c2d1f0a9b8c7d";
        String s = "b8f5a3c2d1e0f9a8";
        assertEquals("{\"msg\":\"[OK] route=/slow method=GET status=200 duration_ms=7262 trace_id=" + t + " span_id=" + s
                + "\",\"route\":\"/slow\",\"method\":\"GET\",\"status\":200,\"duration_ms\":7262,\"trace_id\":\"" + t
                + "\",\"span_id\":\"" + s + "\"}",
                RequestLogFilter.requestLogJson("/slow", "GET", 200, 7262, t, s));
        assertEquals("{\"msg\":\"[ERROR] route=/hello method=GET status=500 duration_ms=3 trace_id=" + t + " span_id=" + s
                + "\",\"route\":\"/hello\",\"method\":\"GET\",\"status\":500,\"duration_ms\":3,\"trace_id\":\"" + t
                + "\",\"span_id\":\"" + s + "\",\"level\":\"error\"}",
                RequestLogFilter.requestLogJson("/hello", "GET", 500, 3, t, s));
    }

    @Test
    void quotesUnsafeCharacters() {
        assertEquals("\"a\\\"b\\\\c\\nd\\u0001\"", RequestLogFilter.quote("a\"b\\c\nd\u0001"));
    }
}
