package io.lgtmp.demo;

import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.util.Locale;
import org.springframework.context.annotation.Configuration;
import org.springframework.web.servlet.HandlerInterceptor;
import org.springframework.web.servlet.config.annotation.InterceptorRegistry;
import org.springframework.web.servlet.config.annotation.WebMvcConfigurer;

/**
 * {@code ?fail=true} on any route makes it fail with 500 (after the route is matched, so the span,
 * the metric and the request log still carry the route). {@code fail=false} or no parameter
 * changes nothing; any other value is a 400.
 */
@Configuration
public class FailInterceptor implements HandlerInterceptor, WebMvcConfigurer {

    @Override
    public void addInterceptors(InterceptorRegistry registry) {
        registry.addInterceptor(this);
    }

    @Override
    public boolean preHandle(HttpServletRequest request, HttpServletResponse response, Object handler) {
        String fail = request.getParameter("fail");
        if (fail == null) {
            return true;
        }
        switch (fail.trim().toLowerCase(Locale.ROOT)) {
            case "true":
            case "1":
                throw new RequestedFailureException(request.getRequestURI());
            case "false":
            case "0":
            case "":
                return true;
            default:
                throw new BadRequestException("fail must be true or false");
        }
    }
}
