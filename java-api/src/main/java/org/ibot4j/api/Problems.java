package org.ibot4j.api;

import java.util.ArrayList;
import java.util.List;

/** Collects validation problems so a config reports all of them at once. */
final class Problems {
    private final List<String> list = new ArrayList<>();

    Problems require(boolean ok, String problem) {
        if (!ok) list.add(problem);
        return this;
    }

    Problems positive(String name, double value) {
        if (!(value > 0)) list.add(name + " must be > 0, got " + value);
        return this;
    }

    Problems inRange(String name, double value, double low, double high) {
        if (!(value >= low && value <= high)) list.add(name + " must be in [" + low + ", " + high + "], got " + value);
        return this;
    }

    void throwIfAny(String what) {
        if (!list.isEmpty()) throw new InvalidConfigException(what, list);
    }
}
