package org.ibot4j.api;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import org.ibot4j.bindings.Ibot4jC;

/**
 * How the teacher's outputs become the targets of the loss (DINOv2's option {@code train.centering});
 * codes are ibot4j.h's IBOT4J_CENTERING_*.
 */
public enum Centering {
    /** Official iBOT: softmax((logits - EMA centre) / temperature). */
    CENTERING(Ibot4jC.IBOT4J_CENTERING_CENTER()),
    /** DINOv2: three Sinkhorn-Knopp normalisations of exp(logits / temperature) over the batch; the centres are not used. */
    SINKHORN_KNOPP(Ibot4jC.IBOT4J_CENTERING_SINKHORN_KNOPP());

    final int code;

    Centering(int code) {
        this.code = code;
    }

    /**
     * The name used on the command line and in JSON, as DINOv2 spells it.
     *
     * @return centering or sinkhorn_knopp
     */
    @JsonValue
    public String label() {
        return Labels.of(this);
    }

    /**
     * Parses a name in any case.
     *
     * @param name centering or sinkhorn_knopp
     * @return the method
     * @throws IllegalArgumentException for another name
     */
    @JsonCreator
    public static Centering of(String name) {
        return Labels.parse(values(), name, "centering");
    }
}
