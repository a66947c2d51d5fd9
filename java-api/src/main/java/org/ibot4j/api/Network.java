package org.ibot4j.api;

import org.ibot4j.bindings.Ibot4jC;

/** The two networks of an iBOT model; codes are ibot4j.h's IBOT4J_STUDENT / IBOT4J_TEACHER. */
public enum Network {
    /** The network trained by gradient descent. */
    STUDENT(Ibot4jC.IBOT4J_STUDENT()),
    /** The EMA of the student, used for evaluation. */
    TEACHER(Ibot4jC.IBOT4J_TEACHER());

    final int code;

    Network(int code) {
        this.code = code;
    }
}
