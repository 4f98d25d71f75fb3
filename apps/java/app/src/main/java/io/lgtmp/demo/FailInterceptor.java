package io.lgtmp.demo;

import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.util.Locale;
import java.util.concurrent.ThreadLocalRandom;
import org.springframework.context.annotation.Configuration;
import org.springframework.web.servlet.HandlerInterceptor;
import org.springframework.web.servlet.HandlerMapping;
import org.springframework.web.servlet.config.annotation.InterceptorRegistry;
import org.springframework.web.servlet.config.annotation.WebMvcConfigurer;

/**
 * Failures and the per-route faults, applied after the route is matched (so the span, the metric and
 * the request log still carry the route):
 * <ul>
 *   <li>{@code ?fail=true} on any route makes it fail with 500; {@code fail=false} or no parameter
 *       changes nothing; any other value is a 400;</li>
 *   <li>the {@code latency} fault sleeps in {@link FaultEffects#injectedLatency}, the {@code cpu} fault
 *       spins in {@link FaultEffects#burnCpu}, and the {@code errors} fault fails its share of requests
 *       through the same path as {@code ?fail=true}.</li>
 * </ul>
 */
@Configuration
public class FailInterceptor implements HandlerInterceptor, WebMvcConfigurer {

    private final Faults faults;

    public FailInterceptor(Faults faults) {
        this.faults = faults;
    }

    @Override
    public void addInterceptors(InterceptorRegistry registry) {
        registry.addInterceptor(this);
    }

    @Override
    public boolean preHandle(HttpServletRequest request, HttpServletResponse response, Object handler) {
        boolean failRequested = failParameter(request.getParameter("fail"));
        Object pattern = request.getAttribute(HandlerMapping.BEST_MATCHING_PATTERN_ATTRIBUTE);
        String route = pattern == null ? request.getRequestURI() : pattern.toString();
        Faults.Active latency = faults.onRoute(FaultKind.LATENCY, route);
        if (latency != null) {
            FaultEffects.injectedLatency(latency.duration("delay"));
        }
        Faults.Active cpu = faults.onRoute(FaultKind.CPU, route);
        if (cpu != null) {
            FaultEffects.burnCpu(cpu.duration("work"));
        }
        Faults.Active errors = faults.onRoute(FaultKind.ERRORS, route);
        if (failRequested) {
            throw new RequestedFailureException("failure requested with fail=true on " + request.getRequestURI());
        }
        if (errors != null && ThreadLocalRandom.current().nextDouble() < errors.ratio()) {
            throw new RequestedFailureException("errors fault on " + route + ": injected failure");
        }
        return true;
    }

    /** Whether {@code ?fail=} asks for a failure; a value other than true/false/1/0/empty is a 400. */
    private static boolean failParameter(String fail) {
        if (fail == null) {
            return false;
        }
        return switch (fail.trim().toLowerCase(Locale.ROOT)) {
            case "true", "1" -> true;
            case "false", "0", "" -> false;
            default -> throw new BadRequestException("fail must be true or false");
        };
    }
}
