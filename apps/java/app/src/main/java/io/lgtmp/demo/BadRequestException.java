package io.lgtmp.demo;

/** A request parameter is malformed or out of range: answered with 400 and a JSON error. */
public class BadRequestException extends RuntimeException {
    public BadRequestException(String message) {
        super(message);
    }
}
