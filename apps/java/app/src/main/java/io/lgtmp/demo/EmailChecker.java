package io.lgtmp.demo;

import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Pattern;
import org.springframework.stereotype.Component;

/**
 * The CPU hot spot of the demo: {@link #checkEmail(String, int)} validates an email address with
 * the seed's deliberately bad regex, using {@code java.util.regex}, a backtracking engine.
 *
 * <p>How /slow is bounded. On the seed's sample the regex never matches (the domain part contains
 * {@code ¿} and {@code ?}), so the engine tries every way of splitting the local part into 3..18
 * {@code \w+} groups before giving up: the work doubles with each local-part character. The full
 * sample (28 local-part characters) would run for minutes per call, so /slow checks a bounded
 * version of it: the first {@code SLOW_REGEX_LOCAL_CHARS} characters (default 10) of the sample's
 * local part followed by the sample's unchanged domain part ({@code @gmail.comnnbbb...}). One call
 * then takes about a millisecond here, and {@code SLOW_ITERATIONS} calls (default 1500, or
 * {@code ?iterations=N}) make one request take seconds, as in the seed.
 *
 * <p>REGEX_MODE=fixed (or POST /admin/regex?mode=fixed) swaps the regex for
 * {@link #linearCheck(String)}, a single left-to-right scan: the "fix" of the tour.
 *
 * <p>The OpenTelemetry javaagent turns this method into a span ({@code EmailChecker.checkEmail})
 * through OTEL_INSTRUMENTATION_METHODS_INCLUDE=io.lgtmp.demo.EmailChecker[checkEmail]; the class has
 * no tracing code.
 */
@Component
public class EmailChecker {

    /** The seed's email regex, unchanged. */
    public static final String EMAIL_REGEX =
            "^(\\w+([-.][A-Za-z0-9]+)*){3,18}@\\w+([-.][A-Za-z0-9]+)*\\.\\w+([-.][A-Za-z0-9]+)*$";

    /** The seed's crafted sample, unchanged (U+00BF is the inverted question mark). */
    public static final String SEED_SAMPLE = "rosamariachoccelahuaaranda70@gmail.comnnbbb.bbNG.bbb.n\u00bf.?n";

    public static final int SAMPLE_LOCAL_PART_LENGTH = SEED_SAMPLE.indexOf('@');

    private static final Pattern EMAIL = Pattern.compile(EMAIL_REGEX);

    private final AtomicReference<RegexMode> mode;

    public EmailChecker(DemoSettings settings) {
        this.mode = new AtomicReference<>(settings.initialRegexMode());
    }

    /**
     * The input /slow checks: the first {@code localChars} characters of the seed sample's local
     * part, then the sample's domain part from the {@code @} on.
     */
    public static String boundedSample(int localChars) {
        int n = Math.max(1, Math.min(localChars, SAMPLE_LOCAL_PART_LENGTH));
        return SEED_SAMPLE.substring(0, n) + SEED_SAMPLE.substring(SAMPLE_LOCAL_PART_LENGTH);
    }

    public RegexMode mode() {
        return mode.get();
    }

    public void setMode(RegexMode newMode) {
        mode.set(newMode);
    }

    /**
     * Validates {@code email} {@code iterations} times with the current mode.
     *
     * @return whether the address is valid
     */
    public boolean checkEmail(String email, int iterations) {
        boolean valid = false;
        if (mode.get() == RegexMode.FIXED) {
            for (int i = 0; i < iterations; i++) {
                valid = linearCheck(email);
            }
        } else {
            for (int i = 0; i < iterations; i++) {
                valid = EMAIL.matcher(email).matches();
            }
        }
        return valid;
    }

    /**
     * The fix: checks the address in one pass over its characters (no backtracking), with the
     * same intent as the regex. Local part: word characters, a '-' or '.' only between
     * characters and followed by a letter or digit, long enough for three groups. Domain: the
     * same shape with at least one '.'.
     */
    public static boolean linearCheck(String email) {
        if (email == null) {
            return false;
        }
        int at = email.indexOf('@');
        if (at <= 0 || at != email.lastIndexOf('@') || at == email.length() - 1) {
            return false;
        }
        return localPartOk(email, 0, at) && domainOk(email, at + 1, email.length());
    }

    private static boolean isWord(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    }

    private static boolean isAlnum(char c) {
        return isWord(c) && c != '_';
    }

    private static boolean isSep(char c) {
        return c == '-' || c == '.';
    }

    private static boolean localPartOk(String s, int from, int to) {
        if (!isWord(s.charAt(from))) {
            return false;
        }
        int groupStarts = 1; // positions where a new \w+ group could start
        for (int i = from + 1; i < to; i++) {
            char c = s.charAt(i);
            char prev = s.charAt(i - 1);
            if (isSep(c)) {
                if (i + 1 >= to || !isAlnum(s.charAt(i + 1))) {
                    return false;
                }
            } else if (!isWord(c)) {
                return false;
            } else if (isWord(prev)) {
                groupStarts++;
            }
        }
        return groupStarts >= 3;
    }

    private static boolean domainOk(String s, int from, int to) {
        if (!isWord(s.charAt(from))) {
            return false;
        }
        boolean sawDot = false;
        int underscoreTokens = 0; // tokens after a separator may hold '_' only right after the '.'
        boolean tokenHasUnderscore = false;
        boolean tokenAfterDot = false;
        boolean firstToken = true;
        for (int i = from; i < to; i++) {
            char c = s.charAt(i);
            if (isSep(c)) {
                if (i + 1 >= to || !isWord(s.charAt(i + 1))) {
                    return false;
                }
                if (tokenHasUnderscore && !firstToken) {
                    if (!tokenAfterDot) {
                        return false;
                    }
                    underscoreTokens++;
                }
                firstToken = false;
                tokenHasUnderscore = false;
                tokenAfterDot = c == '.';
                sawDot |= tokenAfterDot;
            } else if (!isWord(c)) {
                return false;
            } else if (c == '_') {
                tokenHasUnderscore = true;
            }
        }
        if (tokenHasUnderscore && !firstToken) {
            if (!tokenAfterDot) {
                return false;
            }
            underscoreTokens++;
        }
        return sawDot && underscoreTokens <= 1;
    }
}
