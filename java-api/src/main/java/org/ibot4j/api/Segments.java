package org.ibot4j.api;

import java.lang.foreign.MemorySegment;

/** Size and placement checks for memory handed to native code. */
final class Segments {
    private Segments() {}

    static void requireFloats(String name, MemorySegment segment, long count) {
        requireBytes(name, segment, count * Float.BYTES);
    }

    static void requireBytes(String name, MemorySegment segment, long bytes) {
        if (segment == null || segment.equals(MemorySegment.NULL)) {
            throw new IllegalArgumentException(name + " is missing (expected " + bytes + " bytes)");
        }
        if (!segment.isNative()) {
            throw new IllegalArgumentException(name + " must be off-heap memory (allocate it from an Arena) so native code can read it in place");
        }
        if (segment.byteSize() != bytes) {
            throw new IllegalArgumentException(name + " holds " + segment.byteSize() + " bytes but its shape needs " + bytes);
        }
    }
}
