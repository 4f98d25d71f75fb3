package io.lgtmp.demo;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.core.env.Environment;
import org.springframework.stereotype.Component;

/**
 * Every setting of the demo app, read once at start-up from environment variables (Spring also
 * resolves the same names from system properties and test properties). A malformed or
 * out-of-range value is logged and replaced by its default: configuration never crashes the app.
 */
@Component
public class DemoSettings {

    private static final Logger log = LoggerFactory.getLogger(DemoSettings.class);

    /** Bounds of the {@code ?iterations=} query parameter of /slow and of SLOW_ITERATIONS. */
    public static final int MIN_ITERATIONS = 1;
    public static final int MAX_ITERATIONS = 100_000;

    /**
     * The default traffic: about one request a second (TRAFFIC_RPS), mostly the cheap /hello, one /slow and one
     * /alloc in 25, and 4 % failures so the error views have data. One /slow (SLOW_ITERATIONS) is ~1.3 CPU-seconds
     * of regex work, so this mix keeps the app with its agent under a tenth of a core (apps/java/README.md, "Load").
     */
    static final String DEFAULT_TRAFFIC_MIX = "slow=1,hello=22,alloc=1,fail=1";
    static final int DEFAULT_SLOW_ITERATIONS = 1500;

    private final int port;
    private final String serviceName;
    private final String nextServiceUrl;
    private final int slowIterations;
    private final int slowLocalChars;
    private final RegexMode initialRegexMode;
    private final int allocMaxBatches;
    private final int allocChunks;
    private final int allocChunkKib;
    private final boolean trafficEnabled;
    private final double trafficRps;
    private final int trafficConcurrency;
    private final Map<String, Integer> trafficMix;

    public DemoSettings(Environment env) {
        port = intSetting(env, "PORT", 18081, 1, 65535);
        serviceName = env.getProperty("OTEL_SERVICE_NAME", "java-demo-app");
        String next = env.getProperty("NEXT_SERVICE_URL", "").trim();
        nextServiceUrl = next.endsWith("/") ? next.substring(0, next.length() - 1) : next;
        slowIterations = intSetting(env, "SLOW_ITERATIONS", DEFAULT_SLOW_ITERATIONS, MIN_ITERATIONS, MAX_ITERATIONS);
        slowLocalChars = intSetting(env, "SLOW_REGEX_LOCAL_CHARS", 10, 1, EmailChecker.SAMPLE_LOCAL_PART_LENGTH);
        RegexMode mode = RegexMode.parse(env.getProperty("REGEX_MODE", "bad"));
        if (mode == null) {
            log.warn("REGEX_MODE={} is not 'bad' or 'fixed'; using bad", env.getProperty("REGEX_MODE"));
            mode = RegexMode.BAD;
        }
        initialRegexMode = mode;
        allocMaxBatches = intSetting(env, "ALLOC_MAX_BATCHES", 20, 0, 10_000);
        allocChunks = intSetting(env, "ALLOC_CHUNKS", 200, 1, 100_000);
        allocChunkKib = intSetting(env, "ALLOC_CHUNK_KIB", 256, 1, 1 << 20);
        String traffic = env.getProperty("TRAFFIC_GENERATOR", "on").trim().toLowerCase(Locale.ROOT);
        trafficEnabled = !(traffic.equals("off") || traffic.equals("false") || traffic.equals("0"));
        trafficRps = doubleSetting(env, "TRAFFIC_RPS", 1.0, 0.01, 100.0);
        trafficConcurrency = intSetting(env, "TRAFFIC_CONCURRENCY", 2, 1, 64);
        trafficMix = parseMix(env.getProperty("TRAFFIC_MIX", DEFAULT_TRAFFIC_MIX));
    }

    static int intSetting(Environment env, String name, int def, int min, int max) {
        return numberSetting(env, name, def, min, max, Integer::valueOf, "an integer");
    }

    static double doubleSetting(Environment env, String name, double def, double min, double max) {
        return numberSetting(env, name, def, min, max, Double::valueOf, "a number");
    }

    /**
     * A number setting within min..max; unset or blank means the default. As in the Go, Node and
     * Python apps, an unparsable or out-of-range value is never clamped: it falls back to the
     * default with a warning. (Double's compareTo orders NaN above every number, so NaN is out
     * of range.)
     */
    private static <T extends Comparable<T>> T numberSetting(
            Environment env, String name, T def, T min, T max, Function<String, T> parse, String kind) {
        String raw = env.getProperty(name);
        if (raw == null || raw.isBlank()) {
            return def;
        }
        try {
            T v = parse.apply(raw.trim());
            if (v.compareTo(min) >= 0 && v.compareTo(max) <= 0) {
                return v;
            }
        } catch (NumberFormatException ignored) {
            // unparsable: reported below like an out-of-range value
        }
        log.warn("{}={} is not {} in {}..{}; using {}", name, raw, kind, min, max, def);
        return def;
    }

    /** Parses {@code slow=1,hello=22,alloc=1,fail=1}; unknown routes and bad weights are skipped (none left: the default). */
    static Map<String, Integer> parseMix(String raw) {
        Map<String, Integer> mix = new LinkedHashMap<>();
        for (String part : raw.split(",")) {
            String[] kv = part.trim().split("=", 2);
            if (kv.length != 2) {
                continue;
            }
            String route = kv[0].trim().toLowerCase(Locale.ROOT);
            if (!TrafficGenerator.ROUTES.contains(route)) {
                log.warn("TRAFFIC_MIX: unknown route '{}' skipped", route);
                continue;
            }
            try {
                int w = Integer.parseInt(kv[1].trim());
                if (w > 0) {
                    mix.put(route, Math.min(w, 1000));
                }
            } catch (NumberFormatException e) {
                log.warn("TRAFFIC_MIX: bad weight '{}' for {} skipped", kv[1], route);
            }
        }
        return mix.isEmpty() && !raw.equals(DEFAULT_TRAFFIC_MIX) ? parseMix(DEFAULT_TRAFFIC_MIX) : mix;
    }

    public int port() { return port; }
    public String serviceName() { return serviceName; }
    public String nextServiceUrl() { return nextServiceUrl; }
    public int slowIterations() { return slowIterations; }
    public int slowLocalChars() { return slowLocalChars; }
    public RegexMode initialRegexMode() { return initialRegexMode; }
    public int allocMaxBatches() { return allocMaxBatches; }
    public int allocChunks() { return allocChunks; }
    public int allocChunkKib() { return allocChunkKib; }
    public boolean trafficEnabled() { return trafficEnabled; }
    public double trafficRps() { return trafficRps; }
    public int trafficConcurrency() { return trafficConcurrency; }
    /** Period between traffic generator ticks, from TRAFFIC_RPS. */
    public long trafficPeriodMillis() { return Math.max(10L, Math.round(1000.0 / trafficRps)); }
    public Map<String, Integer> trafficMix() { return trafficMix; }
}
