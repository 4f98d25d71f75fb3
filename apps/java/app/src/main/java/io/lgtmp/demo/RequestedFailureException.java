package io.lgtmp.demo;

/** A failure asked for ({@code ?fail=true} or the {@code errors} fault): answered with 500 and a JSON error. */
public class RequestedFailureException extends RuntimeException {
    public RequestedFailureException(String message) {
        super(message);
    }
}
