package io.lgtmp.demo;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Metrics;
import jakarta.annotation.PreDestroy;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.stereotype.Component;

/**
 * The state of the fault switches (docs/fault-switches.md): which kinds are on, with which settings, until
 * when. A fault expires by itself: checked on every read (so on every request) and once a second by a timer.
 * Every change writes one {@code [FAULT]} log line, and the gauge {@code lgtmp.fault.active} (attribute
 * {@code fault}) is 1 while a kind is on. The gauge is a Micrometer gauge on {@link Metrics#globalRegistry}:
 * the javaagent's Micrometer bridge (OTEL_INSTRUMENTATION_MICROMETER_ENABLED=true) exports it over OTLP, so
 * the app makes no OpenTelemetry API call.
 */
@Component
public class Faults {

    private static final Logger faultLog = LoggerFactory.getLogger("io.lgtmp.demo.faults");

    /** One kind that is on. */
    public record Active(Map<String, Object> settings, Instant expiresAt) {
        String route() { return (String) settings.get("route"); }
        double ratio() { return (Double) settings.get("ratio"); }
        int capMib() { return (Integer) settings.get("cap_mib"); }
        String mode() { return (String) settings.get("mode"); }
        Duration duration(String key) { return (Duration) settings.get(key); }
    }

    private final Map<FaultKind, Active> active = new EnumMap<>(FaultKind.class);
    private final List<Consumer<FaultKind>> offListeners = new CopyOnWriteArrayList<>();
    private final boolean hasNextService;
    private final Clock clock;
    private final ScheduledExecutorService expiry;

    @Autowired
    public Faults(DemoSettings settings) {
        this(settings, Clock.systemUTC(), Metrics.globalRegistry, true);
    }

    Faults(DemoSettings settings, Clock clock, MeterRegistry meters, boolean expiryTimer) {
        this.hasNextService = !settings.nextServiceUrl().isEmpty();
        this.clock = clock;
        for (FaultKind kind : FaultKind.values()) {
            Gauge.builder("lgtmp.fault.active", this, f -> f.get(kind) == null ? 0 : 1)
                    .description("1 while the fault switch is on, 0 when off")
                    .tag("fault", kind.id())
                    .register(meters);
        }
        if (expiryTimer) {
            // a plain executor, not @Scheduled: the agent would make a trace of every scheduled run
            expiry = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "fault-expiry");
                t.setDaemon(true);
                return t;
            });
            expiry.scheduleAtFixedRate(this::expireDue, 1, 1, TimeUnit.SECONDS);
        } else {
            expiry = null;
        }
    }

    /** Called with the kind whenever a fault turns off (by request or expiry), e.g. to free what it holds. */
    public void onOff(Consumer<FaultKind> listener) {
        offListeners.add(listener);
    }

    /** The kind's settings while it is on, else null. */
    public Active get(FaultKind kind) {
        expireDue();
        synchronized (active) {
            return active.get(kind);
        }
    }

    /** The active fault of {@code kind} if it is on for {@code route}, else null. */
    public Active onRoute(FaultKind kind, String route) {
        Active a = get(kind);
        return a != null && a.route().equals(route) ? a : null;
    }

    /** Applies one POST /admin/faults body; a bad body throws {@link BadRequestException} and changes nothing. */
    public void apply(String body) {
        FaultRequest req = FaultRequest.parse(body, hasNextService);
        if (!req.on()) {
            turnOff(req.kind(), "request");
            return;
        }
        Instant expiresAt = clock.instant().plus(req.duration()).truncatedTo(ChronoUnit.SECONDS);
        synchronized (active) {
            active.put(req.kind(), new Active(req.settings(), expiresAt));
        }
        log(req.kind(), "on", req.kind().id() + " on " + describe(req.settings()) + " for="
                + Durations.format(req.duration()));
    }

    void expireDue() {
        Instant now = clock.instant();
        for (FaultKind kind : FaultKind.values()) {
            boolean expired;
            synchronized (active) {
                Active a = active.get(kind);
                expired = a != null && !now.isBefore(a.expiresAt());
            }
            if (expired) {
                turnOff(kind, "expired");
            }
        }
    }

    private void turnOff(FaultKind kind, String reason) {
        boolean wasOn;
        synchronized (active) {
            wasOn = active.remove(kind) != null;
        }
        if (wasOn) {
            log(kind, "off", kind.id() + " off (" + reason + ")");
            offListeners.forEach(l -> l.accept(kind));
        }
    }

    /** The document GET and POST /admin/faults answer (without regex_mode, which the controller adds). */
    public Map<String, Object> document() {
        expireDue();
        Map<String, Object> faults = new LinkedHashMap<>();
        synchronized (active) {
            for (FaultKind kind : FaultKind.values()) {
                Active a = active.get(kind);
                if (a == null) {
                    faults.put(kind.id(), null);
                    continue;
                }
                Map<String, Object> shown = new LinkedHashMap<>();
                a.settings().forEach((k, v) -> shown.put(k, v instanceof Duration d ? Durations.format(d) : v));
                shown.put("expires_at", a.expiresAt().toString());
                faults.put(kind.id(), shown);
            }
        }
        return faults;
    }

    /** The settings part of the [FAULT] line, numbers as given ("ratio=1", not "ratio=1.0"), as the other apps write it. */
    private static String describe(Map<String, Object> settings) {
        StringBuilder b = new StringBuilder();
        settings.forEach((k, v) -> b.append(b.isEmpty() ? "" : " ").append(k).append('=').append(
                v instanceof Duration d ? Durations.format(d)
                        : v instanceof Double x && x == Math.rint(x) ? String.valueOf(x.longValue()) : v));
        return b.toString();
    }

    private static void log(FaultKind kind, String state, String what) {
        faultLog.warn("{\"msg\":" + RequestLogFilter.quote("[FAULT] " + what) + ",\"fault\":\"" + kind.id()
                + "\",\"state\":\"" + state + "\",\"level\":\"warn\"}");
    }

    @PreDestroy
    void stop() {
        if (expiry != null) {
            expiry.shutdownNow();
        }
    }
}
