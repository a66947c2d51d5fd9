package org.ibot4j.api;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import org.ibot4j.bindings.Ibot4jC;

/** Where a model lives; codes are ibot4j.h's IBOT4J_DEVICE_*. */
public enum Device {
    /** The host CPU. */
    CPU(Ibot4jC.IBOT4J_DEVICE_CPU()),
    /** The first CUDA device. */
    CUDA(Ibot4jC.IBOT4J_DEVICE_CUDA());

    final int code;

    Device(int code) {
        this.code = code;
    }

    /**
     * The lower-case name used on the command line and in JSON.
     *
     * @return cpu or cuda
     */
    @JsonValue
    public String label() {
        return Labels.of(this);
    }

    /**
     * Parses a device name in any case.
     *
     * @param name cpu or cuda
     * @return the device
     * @throws IllegalArgumentException for another name
     */
    @JsonCreator
    public static Device of(String name) {
        return Labels.parse(values(), name, "device");
    }
}
