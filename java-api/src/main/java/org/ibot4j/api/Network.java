package org.ibot4j.api;

/** The two networks of an iBOT model; values match IBOT4J_STUDENT / IBOT4J_TEACHER. */
public enum Network {
    STUDENT(0), TEACHER(1);

    final int code;

    Network(int code) {
        this.code = code;
    }
}
