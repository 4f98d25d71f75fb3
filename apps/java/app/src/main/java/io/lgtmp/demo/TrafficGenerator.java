package io.lgtmp.demo;

import jakarta.annotation.PreDestroy;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.context.event.EventListener;
import org.springframework.core.env.Environment;
import org.springframework.stereotype.Component;

/**
 * The built-in traffic generator (as in the seed): calls the app's own routes over HTTP so telemetry
 * exists without manual curls. On unless TRAFFIC_GENERATOR=off. Bounded: at most TRAFFIC_RPS requests
 * started per second (default 1) and at most TRAFFIC_CONCURRENCY in flight (default 2; a tick is
 * skipped while that many are running). Routes are picked by TRAFFIC_MIX weights (default
 * {@link DemoSettings#DEFAULT_TRAFFIC_MIX}; also chain).
 *
 * <p>It ticks on a plain scheduled executor started when the app is ready, not with Spring's
 * {@code @Scheduled}: the javaagent's spring-scheduling instrumentation makes a root span of every
 * {@code @Scheduled} run, which would add a "TrafficGenerator.tick" trace per second to Tempo. The
 * generator's HTTP calls themselves are not traced ({@link SelfCaller} says why): each generated request's
 * trace starts at the app's SERVER span, as a real caller's does.
 */
@Component
public class TrafficGenerator {

    private static final Logger log = LoggerFactory.getLogger(TrafficGenerator.class);

    static final Set<String> ROUTES = Set.of("slow", "hello", "alloc", "fail", "chain");

    private final DemoSettings settings;
    private final Environment env;
    private final List<String> wheel = new ArrayList<>();
    private final Semaphore inFlight;
    private final ExecutorService workers;
    private ScheduledExecutorService ticker;

    public TrafficGenerator(DemoSettings settings, Environment env) {
        this.settings = settings;
        this.env = env;
        for (Map.Entry<String, Integer> e : settings.trafficMix().entrySet()) {
            for (int i = 0; i < e.getValue(); i++) {
                wheel.add(e.getKey());
            }
        }
        this.inFlight = new Semaphore(settings.trafficConcurrency());
        if (settings.trafficEnabled()) {
            this.workers = Executors.newFixedThreadPool(settings.trafficConcurrency(), r -> {
                Thread t = new Thread(r, "traffic-generator");
                t.setDaemon(true);
                return t;
            });
            log.info("traffic generator on: {} req/s, concurrency {}, mix {}", settings.trafficRps(),
                    settings.trafficConcurrency(), settings.trafficMix());
        } else {
            this.workers = null;
            log.info("traffic generator off (TRAFFIC_GENERATOR=off)");
        }
    }

    @EventListener(ApplicationReadyEvent.class)
    public synchronized void start() {
        if (workers == null || ticker != null) {
            return;
        }
        ticker = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "traffic-ticker");
            t.setDaemon(true);
            return t;
        });
        ticker.scheduleAtFixedRate(this::tick, 3000, settings.trafficPeriodMillis(), TimeUnit.MILLISECONDS);
    }

    void tick() {
        if (workers == null || wheel.isEmpty() || !inFlight.tryAcquire()) {
            return;
        }
        String route = wheel.get(ThreadLocalRandom.current().nextInt(wheel.size()));
        try {
            workers.execute(() -> {
                try {
                    call(route);
                } finally {
                    inFlight.release();
                }
            });
        } catch (RuntimeException e) {
            inFlight.release();
        }
    }

    private void call(String route) {
        int port = env.getProperty("local.server.port", Integer.class, settings.port());
        String path = switch (route) {
            case "fail" -> "/hello?fail=true";
            default -> "/" + route;
        };
        try {
            new SelfCaller("127.0.0.1", port, 60_000).get(path);
        } catch (Exception e) {
            log.debug("traffic generator: {} failed: {}", path, e.toString());
        }
    }

    @PreDestroy
    synchronized void stop() {
        if (ticker != null) {
            ticker.shutdownNow();
        }
        if (workers != null) {
            workers.shutdownNow();
        }
    }
}
