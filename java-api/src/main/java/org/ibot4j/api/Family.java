package org.ibot4j.api;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import org.ibot4j.bindings.Ibot4jC;

/**
 * Which backbone layout a model has (config field {@code family}); codes are ibot4j.h's IBOT4J_FAMILY_*.
 * Each family's tensors carry timm's names for it (docs/interop.md).
 */
public enum Family {
    /** The official iBOT ViT: learned positions interpolated as the official code does. */
    IBOT(Ibot4jC.IBOT4J_FAMILY_IBOT()),
    /** timm's DINOv2 ViT: learned positions resized as timm does, LayerScale, optional registers and SwiGLU. */
    DINOV2(Ibot4jC.IBOT4J_FAMILY_DINOV2()),
    /** timm's DINOv3 ViT (Eva): RoPE, storage tokens, LayerScale, query and value biases, optional SwiGLU. */
    DINOV3(Ibot4jC.IBOT4J_FAMILY_DINOV3());

    final int code;

    Family(int code) {
        this.code = code;
    }

    /**
     * The name in JSON and on the command line.
     *
     * @return ibot, dinov2 or dinov3
     */
    @JsonValue
    public String label() {
        return Labels.of(this);
    }

    /**
     * Parses a name in any case.
     *
     * @param name ibot, dinov2 or dinov3
     * @return the family
     * @throws IllegalArgumentException for another name
     */
    @JsonCreator
    public static Family of(String name) {
        return Labels.parse(values(), name, "family");
    }
}
