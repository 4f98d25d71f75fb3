package io.lgtmp.demo;

import java.util.Locale;

/** How /slow validates the email: the seed's backtracking regex, or the linear "fix". */
public enum RegexMode {
    BAD("bad"),
    FIXED("fixed");

    private final String id;

    RegexMode(String id) {
        this.id = id;
    }

    public String id() {
        return id;
    }

    /** @return the mode, or null when {@code raw} is neither "bad" nor "fixed" */
    public static RegexMode parse(String raw) {
        if (raw == null) {
            return null;
        }
        switch (raw.trim().toLowerCase(Locale.ROOT)) {
            case "bad":
                return BAD;
            case "fixed":
                return FIXED;
            default:
                return null;
        }
    }
}
