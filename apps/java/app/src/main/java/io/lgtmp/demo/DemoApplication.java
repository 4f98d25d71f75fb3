package io.lgtmp.demo;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;

/**
 * java-demo-app: the Java demo of the lgtmp environment.
 *
 * <p>This is a plain Spring Boot web app. It makes no OpenTelemetry or Pyroscope API call (its one
 * OpenTelemetry import is the {@code @WithSpan} annotation of {@link FaultEffects}). Traces, metrics, logs and profiles come from two jars attached at start-up:
 * {@code -javaagent:opentelemetry-javaagent.jar} plus the Pyroscope OTel extension
 * ({@code OTEL_JAVAAGENT_EXTENSIONS=pyroscope-otel.jar}), configured by environment variables only.
 */
@SpringBootApplication
public class DemoApplication {

    public static void main(String[] args) {
        SpringApplication.run(DemoApplication.class, args);
    }
}
