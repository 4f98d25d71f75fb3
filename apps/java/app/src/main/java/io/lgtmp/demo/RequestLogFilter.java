package io.lgtmp.demo;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.stereotype.Component;
import org.springframework.web.filter.OncePerRequestFilter;
import org.springframework.web.servlet.HandlerMapping;

/**
 * One request log per request, logged through SLF4J/Logback. Its message is a JSON object:
 * {@code msg} ("[OK] route=/slow method=GET status=200 duration_ms=7262 trace_id=... span_id=...",
 * "[ERROR] ..." for 5xx), {@code route}, {@code method}, {@code status}, {@code duration_ms},
 * {@code trace_id}, {@code span_id}, and {@code "level":"error"} for 5xx.
 *
 * <p>No OpenTelemetry API is used. The ids come from the request attributes {@code trace_id} and
 * {@code span_id} that the OpenTelemetry javaagent's servlet instrumentation sets on every server
 * request (setting otel.instrumentation.servlet.experimental.trace-id-request-attribute.enabled,
 * on by default); without the agent they are empty. The agent's Logback appender instrumentation
 * exports the record over OTLP with the server span's trace context.
 */
@Component
@Order(Ordered.HIGHEST_PRECEDENCE)
public class RequestLogFilter extends OncePerRequestFilter {

    private static final Logger requestLog = LoggerFactory.getLogger("io.lgtmp.demo.requests");

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        long started = System.nanoTime();
        boolean threw = true;
        try {
            chain.doFilter(request, response);
            threw = false;
        } finally {
            long durationMs = (System.nanoTime() - started) / 1_000_000;
            int status = threw && response.getStatus() < 500 ? 500 : response.getStatus();
            Object pattern = request.getAttribute(HandlerMapping.BEST_MATCHING_PATTERN_ATTRIBUTE);
            String route = pattern != null ? pattern.toString() : request.getRequestURI();
            String json = requestLogJson(route, request.getMethod(), status, durationMs,
                    attribute(request, "trace_id"), attribute(request, "span_id"));
            if (status >= 500) {
                requestLog.error(json);
            } else {
                requestLog.info(json);
            }
        }
    }

    private static String attribute(HttpServletRequest request, String name) {
        Object v = request.getAttribute(name);
        return v == null ? "" : v.toString();
    }

    /** Builds the JSON message of one request log (no JSON library needed for these few keys). */
    static String requestLogJson(String route, String method, int status, long durationMs, String traceId,
                                 String spanId) {
        boolean error = status >= 500;
        String msg = (error ? "[ERROR]" : "[OK]") + " route=" + route + " method=" + method + " status=" + status
                + " duration_ms=" + durationMs + " trace_id=" + traceId + " span_id=" + spanId;
        StringBuilder b = new StringBuilder(256);
        b.append("{\"msg\":").append(quote(msg))
                .append(",\"route\":").append(quote(route))
                .append(",\"method\":").append(quote(method))
                .append(",\"status\":").append(status)
                .append(",\"duration_ms\":").append(durationMs)
                .append(",\"trace_id\":").append(quote(traceId))
                .append(",\"span_id\":").append(quote(spanId));
        if (error) {
            b.append(",\"level\":\"error\"");
        }
        return b.append('}').toString();
    }

    static String quote(String s) {
        StringBuilder b = new StringBuilder(s.length() + 2).append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (c < 0x20) {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return b.append('"').toString();
    }
}
