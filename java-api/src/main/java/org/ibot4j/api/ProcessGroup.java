package org.ibot4j.api;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.ibot4j.bindings.Ibot4jC;
import org.ibot4j.bindings.ibot4j_dist_config;

/**
 * This process's membership of a data-parallel group, on PyTorch's own c10d engine (TCPStore
 * rendezvous, ProcessGroupGloo or ProcessGroupNCCL). Creating one blocks until every rank has
 * joined (or the timeout passes) and checks the group with an all-reduce of a known tensor. Models
 * join it with {@link IbotModel#join}; close it after them.
 */
public final class ProcessGroup implements AutoCloseable {
    private final DistConfig config;
    private final Arena arena;
    private final MemorySegment handle;
    private final MemorySegment err;
    private boolean closed;

    private ProcessGroup(DistConfig config, Arena arena, MemorySegment handle, MemorySegment err) {
        this.config = config;
        this.arena = arena;
        this.handle = handle;
        this.err = err;
    }

    /**
     * Joins the group.
     *
     * @param config rank, size, rendezvous and backend
     * @return the group, checked
     * @throws Ibot4jException (DISTRIBUTED) when the rendezvous fails, times out, or the check does not add up
     */
    public static ProcessGroup join(DistConfig config) {
        NativeLibrary.load();
        Arena arena = Arena.ofShared();
        try {
            MemorySegment err = NativeErrors.allocate(arena);
            MemorySegment c = ibot4j_dist_config.allocate(arena);
            ibot4j_dist_config.rank(c, config.rank());
            ibot4j_dist_config.world_size(c, config.worldSize());
            ibot4j_dist_config.local_rank(c, config.localRank());
            ibot4j_dist_config.master_addr(c, arena.allocateFrom(config.masterAddr()));
            ibot4j_dist_config.master_port(c, config.masterPort());
            ibot4j_dist_config.backend(c, config.backend().code);
            ibot4j_dist_config.timeout_s(c, config.timeoutSeconds());
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            NativeErrors.check(Ibot4jC.ibot4j_group_create(c, out, err, NativeErrors.BUFFER_BYTES), err, "group_create(" + config + ")");
            return new ProcessGroup(config, arena, out.get(ValueLayout.ADDRESS, 0), err);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /**
     * What this process is in the group.
     *
     * @return the configuration it joined with
     */
    public DistConfig config() {
        return config;
    }

    /**
     * Reduces values over every rank in place; every rank must call it with the same length.
     *
     * @param values this rank's values; on return the reduction's
     * @param op sum, min or max
     */
    public void allReduce(double[] values, Reduce op) {
        ensureOpen();
        try (Arena scratch = Arena.ofConfined()) {
            MemorySegment data = scratch.allocateFrom(ValueLayout.JAVA_DOUBLE, values);
            MemorySegment localErr = NativeErrors.allocate(scratch);
            NativeErrors.check(Ibot4jC.ibot4j_group_all_reduce(handle, data, values.length, op.code, localErr, NativeErrors.BUFFER_BYTES),
                    localErr, "all_reduce");
            MemorySegment.copy(data, ValueLayout.JAVA_DOUBLE, 0, values, 0, values.length);
        }
    }

    /** The reductions of {@link #allReduce}. */
    public enum Reduce {
        /** Sum over ranks. */
        SUM(Ibot4jC.IBOT4J_REDUCE_SUM()),
        /** Minimum over ranks. */
        MIN(Ibot4jC.IBOT4J_REDUCE_MIN()),
        /** Maximum over ranks. */
        MAX(Ibot4jC.IBOT4J_REDUCE_MAX());

        final int code;

        Reduce(int code) {
            this.code = code;
        }
    }

    MemorySegment handle() {
        ensureOpen();
        return handle;
    }

    private void ensureOpen() {
        if (closed) throw new IllegalStateException("this ProcessGroup is closed");
    }

    /** Leaves the group; models that joined it must be closed first. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        try {
            NativeErrors.check(Ibot4jC.ibot4j_group_free(handle, err, NativeErrors.BUFFER_BYTES), err, "group_free");
        } finally {
            arena.close();
        }
    }
}
