package com.example;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;
import java.util.logging.Logger;

/**
 * A service of your own: plain JDK, no OpenTelemetry or Pyroscope code. The javaagent traces the
 * HttpServer and sends java.util.logging records as OpenTelemetry logs with the request's trace
 * context; OTEL_INSTRUMENTATION_METHODS_INCLUDE makes countPrimes a child span (see the Dockerfile).
 */
public final class App {
  private static final Logger LOG = Logger.getLogger(App.class.getName());
  private static final int MAX_N = 5_000_000;

  private App() {}

  public static void main(String[] args) throws IOException {
    int port = Integer.parseInt(System.getenv().getOrDefault("PORT", "8080"));
    HttpServer server = HttpServer.create(new InetSocketAddress(port), 0);
    server.createContext("/", App::index);
    server.createContext("/work", App::work);
    server.setExecutor(Executors.newFixedThreadPool(8));
    server.start();
    LOG.info("listening on :" + port);
  }

  private static void index(HttpExchange exchange) throws IOException {
    if (!isGet(exchange)) return;
    if (!exchange.getRequestURI().getPath().equals("/")) {
      reply(exchange, 404, "{\"error\":\"not found\"}");
      return;
    }
    reply(exchange, 200, "{\"status\":\"ok\"}");
  }

  /** GET /work?n=N: counts the primes below N (default 200000) and logs how many. */
  private static void work(HttpExchange exchange) throws IOException {
    if (!isGet(exchange)) return;
    String query = exchange.getRequestURI().getQuery();
    String raw = query != null && query.startsWith("n=") ? query.substring(2) : "200000";
    int n;
    try {
      n = Integer.parseInt(raw);
    } catch (NumberFormatException e) {
      n = -1;
    }
    if (n < 2 || n > MAX_N) {
      reply(exchange, 400, "{\"error\":\"n must be an integer from 2 to " + MAX_N + "\"}");
      return;
    }
    int primes = countPrimes(n);
    LOG.info("counted " + primes + " primes below " + n);
    reply(exchange, 200, "{\"n\":" + n + ",\"primes\":" + primes + "}");
  }

  /** The CPU work: trial division, on purpose the slow way. */
  static int countPrimes(int below) {
    int count = 0;
    for (int candidate = 2; candidate < below; candidate++) {
      boolean prime = true;
      for (int d = 2; (long) d * d <= candidate; d++) {
        if (candidate % d == 0) {
          prime = false;
          break;
        }
      }
      if (prime) count++;
    }
    return count;
  }

  /** Answers 405 to anything but GET; true for a GET. */
  private static boolean isGet(HttpExchange exchange) throws IOException {
    if (exchange.getRequestMethod().equals("GET")) return true;
    exchange.getResponseHeaders().set("Allow", "GET");
    reply(exchange, 405, "{\"error\":\"method not allowed\"}");
    return false;
  }

  private static void reply(HttpExchange exchange, int status, String json) throws IOException {
    byte[] body = json.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("Content-Type", "application/json");
    exchange.sendResponseHeaders(status, body.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(body);
    }
  }
}
