package org.ibot4j.api;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import org.ibot4j.bindings.Ibot4jC;

/**
 * LibTorch's op-level profile of the native calls made on this thread while it is open, written as a
 * Chrome trace when closed: for performance work, e.g. {@code try (OpTrace t = OpTrace.begin(file)) { model.trainStep(...); }}.
 */
public final class OpTrace implements AutoCloseable {
    private boolean open = true;

    private OpTrace() {}

    /**
     * Starts recording.
     *
     * @param file where the Chrome trace is written on {@link #close()}
     * @return the running trace
     * @throws Ibot4jException when a trace is already running
     */
    public static OpTrace begin(Path file) {
        NativeLibrary.load();
        try (Arena scratch = Arena.ofConfined()) {
            MemorySegment err = NativeErrors.allocate(scratch);
            NativeErrors.check(Ibot4jC.ibot4j_trace_begin(scratch.allocateFrom(file.toAbsolutePath().toString()), err,
                    NativeErrors.BUFFER_BYTES), err, "trace_begin(" + file + ")");
        }
        return new OpTrace();
    }

    /** Stops recording and writes the trace. */
    @Override
    public void close() {
        if (!open) return;
        open = false;
        try (Arena scratch = Arena.ofConfined()) {
            MemorySegment err = NativeErrors.allocate(scratch);
            NativeErrors.check(Ibot4jC.ibot4j_trace_end(err, NativeErrors.BUFFER_BYTES), err, "trace_end");
        }
    }
}
