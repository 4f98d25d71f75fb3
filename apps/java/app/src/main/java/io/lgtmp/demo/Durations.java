package io.lgtmp.demo;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The durations of the fault API: {@code "200ms"}, {@code "90s"}, {@code "5m"}, {@code "1h"}, or a number of seconds. */
final class Durations {

    private static final Pattern TEXT = Pattern.compile("(\\d+(?:\\.\\d+)?)(ms|s|m|h)");

    private Durations() {
    }

    /** @return the duration, or null when {@code raw} is neither a duration string nor a number of seconds */
    static Duration parse(Object raw) {
        double millis;
        if (raw instanceof Number n) {
            millis = n.doubleValue() * 1000;
        } else if (raw instanceof String s) {
            Matcher m = TEXT.matcher(s.trim());
            if (!m.matches()) {
                return null;
            }
            double v = Double.parseDouble(m.group(1));
            millis = switch (m.group(2)) {
                case "ms" -> v;
                case "s" -> v * 1000;
                case "m" -> v * 60_000;
                default -> v * 3_600_000;
            };
        } else {
            return null;
        }
        return Double.isFinite(millis) && millis >= 0 && millis <= Long.MAX_VALUE / 2
                ? Duration.ofMillis(Math.round(millis)) : null;
    }

    /** The shortest form the parser reads back: "200ms", "2s", "10m", "1h" or "1500ms". */
    static String format(Duration d) {
        long ms = d.toMillis();
        if (ms != 0 && ms % 3_600_000 == 0) {
            return ms / 3_600_000 + "h";
        }
        if (ms != 0 && ms % 60_000 == 0) {
            return ms / 60_000 + "m";
        }
        if (ms % 1000 == 0) {
            return ms / 1000 + "s";
        }
        return ms + "ms";
    }
}
