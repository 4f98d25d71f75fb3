package io.lgtmp.demo;

import java.time.Duration;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * One {@code POST /admin/faults} body, checked against docs/fault-switches.md: {@code {"fault": kind,
 * ...settings, "for": "10m"}} turns a kind on, {@code {"fault": kind, "on": false}} turns it off. Anything
 * else is a {@link BadRequestException} naming the key and the accepted form, so nothing changes.
 *
 * @param settings the kind's settings with defaults filled in (routes and modes as strings, ratios as
 *                 Double, sizes as Integer, durations as {@link Duration})
 */
record FaultRequest(FaultKind kind, boolean on, Map<String, Object> settings, Duration duration) {

    static final List<String> ROUTES = List.of("/hello", "/slow", "/alloc", "/chain");
    static final Duration DEFAULT_FOR = Duration.ofMinutes(10);
    static final Duration MAX_FOR = Duration.ofHours(1);

    private static final JsonMapper JSON = JsonMapper.builder().build();

    /** Parses and checks {@code body}; {@code hasNextService} tells whether {@code dependency} is accepted. */
    static FaultRequest parse(String body, boolean hasNextService) {
        JsonNode root;
        try {
            root = body == null || body.isBlank() ? null : JSON.readTree(body);
        } catch (JacksonException e) {
            root = null;
        }
        if (root == null || !root.isObject()) {
            throw new BadRequestException("the body must be a JSON object {\"fault\": \"<kind>\", ...}");
        }
        JsonNode kindNode = root.get("fault");
        FaultKind kind = kindNode != null && kindNode.isString() ? FaultKind.parse(kindNode.asString()) : null;
        if (kind == null) {
            throw new BadRequestException("fault must be one of errors, latency, leak, cpu, dependency");
        }
        if (kind == FaultKind.DEPENDENCY && !hasNextService) {
            throw new BadRequestException("fault dependency: this app has no next service (NEXT_SERVICE_URL)");
        }
        boolean on = true;
        Duration duration = DEFAULT_FOR;
        Map<String, Object> settings = defaults(kind);
        for (Iterator<Map.Entry<String, JsonNode>> it = root.properties().iterator(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String key = e.getKey();
            JsonNode v = e.getValue();
            switch (key) {
                case "fault" -> { }
                case "on" -> {
                    if (!v.isBoolean()) {
                        throw new BadRequestException("on must be true or false");
                    }
                    on = v.asBoolean();
                }
                case "for" -> duration = duration(v, "for", Duration.ofSeconds(1), MAX_FOR);
                default -> {
                    if (!settings.containsKey(key)) {
                        throw new BadRequestException("unknown key '" + key + "' for fault " + kind.id()
                                + "; accepted: fault, on, for, " + String.join(", ", settings.keySet()));
                    }
                    settings.put(key, setting(kind, key, v));
                }
            }
        }
        return new FaultRequest(kind, on, settings, duration);
    }

    /** The settings of each kind, with their defaults (docs/fault-switches.md, "Kinds and their settings"). */
    private static Map<String, Object> defaults(FaultKind kind) {
        Map<String, Object> s = new LinkedHashMap<>();
        switch (kind) {
            case ERRORS -> {
                s.put("route", "/hello");
                s.put("ratio", 0.5);
            }
            case LATENCY -> {
                s.put("route", "/hello");
                s.put("delay", Duration.ofSeconds(2));
            }
            case LEAK -> s.put("cap_mib", 256);
            case CPU -> {
                s.put("route", "/hello");
                s.put("work", Duration.ofMillis(200));
            }
            case DEPENDENCY -> {
                s.put("mode", "error");
                s.put("timeout", Duration.ofSeconds(1));
            }
        }
        return s;
    }

    private static Object setting(FaultKind kind, String key, JsonNode v) {
        return switch (key) {
            case "route" -> {
                if (!v.isString() || !ROUTES.contains(v.asString())) {
                    throw new BadRequestException("route must be one of " + String.join(", ", ROUTES));
                }
                yield v.asString();
            }
            case "ratio" -> {
                if (!v.isNumber() || !(v.asDouble() > 0 && v.asDouble() <= 1)) {
                    throw new BadRequestException("ratio must be a number with 0 < ratio <= 1");
                }
                yield v.asDouble();
            }
            case "cap_mib" -> {
                if (!v.isIntegralNumber() || v.asLong() < 1 || v.asLong() > 1024) {
                    throw new BadRequestException("cap_mib must be an integer in 1..1024");
                }
                yield v.asInt();
            }
            case "mode" -> {
                if (!v.isString() || !Set.of("error", "timeout").contains(v.asString())) {
                    throw new BadRequestException("mode must be \"error\" or \"timeout\"");
                }
                yield v.asString();
            }
            case "delay" -> duration(v, "delay", Duration.ofMillis(1), Duration.ofSeconds(30));
            case "work" -> duration(v, "work", Duration.ofMillis(1), Duration.ofSeconds(2));
            case "timeout" -> duration(v, "timeout", Duration.ofMillis(1), Duration.ofSeconds(30));
            default -> throw new IllegalStateException("no parser for " + kind.id() + "." + key);
        };
    }

    private static Duration duration(JsonNode v, String key, Duration min, Duration max) {
        Duration d = v.isNumber() ? Durations.parse(v.numberValue()) : v.isString() ? Durations.parse(v.asString()) : null;
        if (d == null || d.compareTo(min) < 0 || d.compareTo(max) > 0) {
            throw new BadRequestException(key + " must be a duration like \"200ms\", \"90s\", \"5m\" or a number of seconds, "
                    + Durations.format(min) + " to " + Durations.format(max));
        }
        return d;
    }
}
