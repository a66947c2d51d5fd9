package org.ibot4j.api;

import java.util.List;

/** A configuration with one or more problems; every problem is listed, not just the first. */
public class InvalidConfigException extends IllegalArgumentException {
    private final List<String> problems;

    /**
     * A configuration with problems.
     *
     * @param what what was being configured, e.g. {@code ibot4j config}
     * @param problems one sentence per problem
     */
    public InvalidConfigException(String what, List<String> problems) {
        super("invalid " + what + ":\n  - " + String.join("\n  - ", problems));
        this.problems = List.copyOf(problems);
    }

    /**
     * Every problem found.
     *
     * @return one sentence per problem
     */
    public List<String> problems() {
        return problems;
    }
}
