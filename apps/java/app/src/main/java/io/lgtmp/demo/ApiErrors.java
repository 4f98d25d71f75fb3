package io.lgtmp.demo;

import jakarta.servlet.http.HttpServletRequest;
import java.util.LinkedHashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.web.HttpMediaTypeException;
import org.springframework.web.HttpRequestMethodNotSupportedException;
import org.springframework.web.bind.ServletRequestBindingException;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.RestControllerAdvice;
import org.springframework.web.method.annotation.MethodArgumentTypeMismatchException;
import org.springframework.web.servlet.NoHandlerFoundException;
import org.springframework.web.servlet.resource.NoResourceFoundException;

/** Every error is a JSON answer: 400 bad parameters, 404 unknown route, 405, 500. */
@RestControllerAdvice
public class ApiErrors {

    private static final Logger log = LoggerFactory.getLogger(ApiErrors.class);

    private static ResponseEntity<Map<String, Object>> error(HttpStatus status, String message, HttpServletRequest req) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("error", message);
        body.put("status", status.value());
        body.put("path", req.getRequestURI());
        return ResponseEntity.status(status).body(body);
    }

    @ExceptionHandler(BadRequestException.class)
    ResponseEntity<Map<String, Object>> badRequest(BadRequestException e, HttpServletRequest req) {
        return error(HttpStatus.BAD_REQUEST, e.getMessage(), req);
    }

    @ExceptionHandler({MethodArgumentTypeMismatchException.class, ServletRequestBindingException.class})
    ResponseEntity<Map<String, Object>> badParameter(Exception e, HttpServletRequest req) {
        return error(HttpStatus.BAD_REQUEST, "bad request parameter", req);
    }

    @ExceptionHandler({NoHandlerFoundException.class, NoResourceFoundException.class})
    ResponseEntity<Map<String, Object>> notFound(Exception e, HttpServletRequest req) {
        return error(HttpStatus.NOT_FOUND, "not found", req);
    }

    @ExceptionHandler(HttpRequestMethodNotSupportedException.class)
    ResponseEntity<Map<String, Object>> methodNotAllowed(Exception e, HttpServletRequest req) {
        return error(HttpStatus.METHOD_NOT_ALLOWED, "method not allowed", req);
    }

    @ExceptionHandler(HttpMediaTypeException.class)
    ResponseEntity<Map<String, Object>> mediaType(Exception e, HttpServletRequest req) {
        return error(HttpStatus.NOT_ACCEPTABLE, "unsupported media type", req);
    }

    @ExceptionHandler(RequestedFailureException.class)
    ResponseEntity<Map<String, Object>> requestedFailure(RequestedFailureException e, HttpServletRequest req) {
        return error(HttpStatus.INTERNAL_SERVER_ERROR, e.getMessage(), req);
    }

    @ExceptionHandler(Exception.class)
    ResponseEntity<Map<String, Object>> internal(Exception e, HttpServletRequest req) {
        log.warn("request {} failed: {}", req.getRequestURI(), e.toString());
        return error(HttpStatus.INTERNAL_SERVER_ERROR, "internal error: " + e.getMessage(), req);
    }
}
