package org.ibot4j.api;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/** The lower-case names the config's enums ({@link Family}, {@link Centering}, {@link Device}) take in JSON and on the command line. */
final class Labels {
    private Labels() {}

    static String of(Enum<?> value) {
        return value.name().toLowerCase(Locale.ROOT);
    }

    /** The value labelled {@code name} in any case; another name is an error listing the known ones. */
    static <E extends Enum<E>> E parse(E[] values, String name, String what) {
        for (E v : values) if (of(v).equalsIgnoreCase(name)) return v;
        throw new IllegalArgumentException("unknown " + what + " '" + name + "' (known: "
                + Arrays.stream(values).map(Labels::of).collect(Collectors.joining(", ")) + ")");
    }
}
