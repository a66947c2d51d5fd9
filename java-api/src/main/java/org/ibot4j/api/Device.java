package org.ibot4j.api;

/** Where a model lives; values match IBOT4J_DEVICE_* in ibot4j.h. */
public enum Device {
    CPU(0), CUDA(1);

    final int code;

    Device(int code) {
        this.code = code;
    }
}
