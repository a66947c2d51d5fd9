package org.ibot4j.api;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/** The caller-provided error buffer every native call fills in the same call, and its status check. */
final class NativeErrors {
    static final long BUFFER_BYTES = 8192;

    private NativeErrors() {}

    static MemorySegment allocate(Arena arena) {
        return arena.allocate(BUFFER_BYTES);
    }

    /** Throws {@link Ibot4jException} unless {@code status} is IBOT4J_OK. */
    static void check(int status, MemorySegment errorBuffer, String operation) {
        if (status != 0) {
            throw new Ibot4jException(Ibot4jException.Category.ofStatus(status), operation, errorBuffer.getString(0));
        }
    }
}
