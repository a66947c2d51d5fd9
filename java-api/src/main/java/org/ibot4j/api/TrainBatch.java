package org.ibot4j.api;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * One step's input in the layout {@code train_step} reads, as off-heap memory the native side wraps
 * without copying. Crops are crop-major: {@code [crop 0 of every image; crop 1 of every image; ...]}.
 *
 * @param globalCrops float32 {@code [batchSize * nGlobal, C, globalSize, globalSize]}
 * @param localCrops  float32 {@code [batchSize * nLocal, C, localSize, localSize]}; {@link MemorySegment#NULL} when nLocal is 0
 * @param masks       uint8 {@code [batchSize * nGlobal, globalSize / p, globalSize / p]}, non-zero = masked
 * @param batchSize   images per step (B)
 * @param nGlobal     global crops per image (G, 2 in iBOT)
 * @param nLocal      local crops per image (L, may be 0)
 * @param globalSize  side of a global crop in pixels, a multiple of the patch size
 * @param localSize   side of a local crop in pixels, a multiple of the patch size
 */
public record TrainBatch(
        MemorySegment globalCrops,
        MemorySegment localCrops,
        MemorySegment masks,
        int batchSize,
        int nGlobal,
        int nLocal,
        int globalSize,
        int localSize) {

    /** Allocates zeroed buffers of the right sizes for {@code config} in {@code arena}. */
    public static TrainBatch allocate(Arena arena, IbotConfig config, int batchSize, int nGlobal, int nLocal,
            int globalSize, int localSize) {
        long c = config.inChans();
        MemorySegment global = arena.allocate(ValueLayout.JAVA_FLOAT, (long) batchSize * nGlobal * c * globalSize * globalSize);
        MemorySegment local = nLocal == 0 ? MemorySegment.NULL
                : arena.allocate(ValueLayout.JAVA_FLOAT, (long) batchSize * nLocal * c * localSize * localSize);
        MemorySegment masks = arena.allocate((long) batchSize * nGlobal * config.numPatches(globalSize));
        return new TrainBatch(global, local, masks, batchSize, nGlobal, nLocal, globalSize, localSize);
    }

    /**
     * Checks shapes against {@code config} and that every buffer is live, off-heap and of its exact size,
     * so the native side never reads past a buffer or from an arena that was closed.
     */
    void validate(IbotConfig config) {
        int patch = config.patchSize();
        boolean shapesValid = batchSize > 0 && nGlobal > 0 && nLocal >= 0 && globalSize > 0 && globalSize % patch == 0
                && (nLocal == 0 || (localSize > 0 && localSize % patch == 0));
        if (!shapesValid) describeShapeProblems(patch);
        long c = config.inChans();
        Segments.requireFloats("global_crops", globalCrops, (long) batchSize * nGlobal * c * globalSize * globalSize);
        Segments.requireBytes("masks", masks, (long) batchSize * nGlobal * config.numPatches(globalSize));
        if (nLocal > 0) {
            Segments.requireFloats("local_crops", localCrops, (long) batchSize * nLocal * c * localSize * localSize);
        }
    }

    private void describeShapeProblems(int patchSize) {
        Problems p = new Problems();
        p.require(batchSize > 0, "batch_size must be > 0, got " + batchSize);
        p.require(nGlobal > 0, "n_global must be > 0, got " + nGlobal);
        p.require(nLocal >= 0, "n_local must be >= 0, got " + nLocal);
        p.require(globalSize > 0 && globalSize % patchSize == 0,
                "global_size (" + globalSize + ") must be a positive multiple of patch_size (" + patchSize + ")");
        p.require(nLocal == 0 || (localSize > 0 && localSize % patchSize == 0),
                "local_size (" + localSize + ") must be a positive multiple of patch_size (" + patchSize + ")");
        p.throwIfAny("train batch");
    }
}
