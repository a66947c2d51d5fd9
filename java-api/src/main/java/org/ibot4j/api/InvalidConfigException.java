package org.ibot4j.api;

import java.util.List;

/** A configuration with one or more problems; every problem is listed, not just the first. */
public class InvalidConfigException extends IllegalArgumentException {
    private final List<String> problems;

    public InvalidConfigException(String what, List<String> problems) {
        super("invalid " + what + ":\n  - " + String.join("\n  - ", problems));
        this.problems = List.copyOf(problems);
    }

    public List<String> problems() {
        return problems;
    }
}
