package io.lgtmp.demo;

import java.util.Locale;

/** The runtime fault switches (docs/fault-switches.md): one per row of the troubleshooting map. */
public enum FaultKind {
    ERRORS,
    LATENCY,
    LEAK,
    CPU,
    DEPENDENCY;

    /** The kind's name in the API, the [FAULT] log and the gauge's {@code fault} attribute. */
    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** @return the kind, or null when {@code raw} names none */
    public static FaultKind parse(String raw) {
        for (FaultKind k : values()) {
            if (k.id().equals(raw)) {
                return k;
            }
        }
        return null;
    }
}
