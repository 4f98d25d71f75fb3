package io.lgtmp.demo;

/** {@code ?fail=true} asked for a failure: answered with 500 and a JSON error. */
public class RequestedFailureException extends RuntimeException {
    public RequestedFailureException(String route) {
        super("failure requested with fail=true on " + route);
    }
}
