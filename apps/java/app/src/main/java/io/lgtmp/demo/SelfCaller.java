package io.lgtmp.demo;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * How the traffic generator calls the app: one HTTP/1.1 GET over a plain {@link Socket}, with
 * {@code Connection: close}, reading the answer to its end.
 *
 * <p>Why not the JDK's HttpClient or HttpURLConnection: the OpenTelemetry javaagent instruments both, so
 * every generated request became a trace whose root was the generator's CLIENT span {@code GET} (no
 * route, a {@code pyroscope.profile.id} of its own and an empty flame graph, since its thread only waits),
 * with the app's SERVER span below it. The agent has no supported per-call switch without the
 * OpenTelemetry API (its switches, {@code otel.instrumentation.[name].enabled}, turn an instrumentation
 * off for the whole JVM, and {@code /chain} needs the JDK HttpClient's one to propagate the trace to the
 * next service). The agent does not instrument raw sockets, so these calls carry no {@code traceparent}
 * and the app's SERVER span starts the trace, exactly as a real caller's request does; this holds with
 * any agent configuration.
 */
final class SelfCaller {

    private final String host;
    private final int port;
    private final int timeoutMillis;

    SelfCaller(String host, int port, int timeoutMillis) {
        this.host = host;
        this.port = port;
        this.timeoutMillis = timeoutMillis;
    }

    /** GETs {@code path} (with its query) and returns the answer's status code. */
    int get(String path) throws IOException {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(host, port), timeoutMillis);
            socket.setSoTimeout(timeoutMillis);
            OutputStream out = socket.getOutputStream();
            out.write(("GET " + path + " HTTP/1.1\r\nHost: " + host + ":" + port
                    + "\r\nUser-Agent: lgtmp-traffic-generator\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = socket.getInputStream();
            String statusLine = readLine(in);
            in.transferTo(OutputStream.nullOutputStream());
            String[] parts = statusLine.split(" ", 3);
            if (parts.length < 2 || !parts[0].startsWith("HTTP/")) {
                throw new IOException("not an HTTP answer: " + statusLine);
            }
            return Integer.parseInt(parts[1]);
        }
    }

    private static String readLine(InputStream in) throws IOException {
        StringBuilder b = new StringBuilder(32);
        for (int c = in.read(); c != -1 && c != '\n'; c = in.read()) {
            if (c != '\r') {
                b.append((char) c);
            }
        }
        return b.toString();
    }
}
