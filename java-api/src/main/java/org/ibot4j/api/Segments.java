package org.ibot4j.api;

import java.lang.foreign.MemorySegment;

/**
 * Checks on memory handed to native code, made before any native call. Native code sees only an
 * address, so a freed, foreign-thread, read-only or short segment would otherwise be read or written
 * without any Java-side check: a crash or silent corruption instead of an exception.
 */
final class Segments {
    private Segments() {}

    /** An input of {@code count} float32 values. */
    static void requireFloats(String name, MemorySegment segment, long count) {
        requireBytes(name, segment, count * Float.BYTES);
    }

    /** An output of {@code count} float32 values, which native code writes. */
    static void requireWritableFloats(String name, MemorySegment segment, long count) {
        requireFloats(name, segment, count);
        if (segment.isReadOnly()) {
            throw new IllegalArgumentException(name + " is read-only, but native code writes its output there");
        }
    }

    /** An input of {@code bytes} bytes. */
    static void requireBytes(String name, MemorySegment segment, long bytes) {
        if (segment == null || segment.equals(MemorySegment.NULL)) {
            throw new IllegalArgumentException(name + " is missing (expected " + bytes + " bytes)");
        }
        if (!segment.isNative()) {
            throw new IllegalArgumentException(name + " must be off-heap memory (allocate it from an Arena) so native code can read it in place");
        }
        if (!segment.scope().isAlive()) {
            throw new IllegalStateException(name + " was freed: the arena it was allocated from is closed");
        }
        if (!segment.isAccessibleBy(Thread.currentThread())) {
            throw new IllegalStateException(name + " belongs to a confined arena of another thread");
        }
        if (segment.byteSize() != bytes) {
            throw new IllegalArgumentException(name + " holds " + segment.byteSize() + " bytes but its shape needs " + bytes);
        }
    }
}
