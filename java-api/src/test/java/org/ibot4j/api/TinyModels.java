package org.ibot4j.api;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;

/** The tiny model and fixed batch the native tests share: 32 px, patch 4, dim 64, depth 2. */
final class TinyModels {
    static final int BATCH = 8, N_GLOBAL = 2, N_LOCAL = 2, GLOBAL = 32, LOCAL = 16;

    private TinyModels() {}

    static IbotConfig config(long seed) {
        return IbotConfig.builder()
                .imgSize(32).patchSize(4).inChans(3).embedDim(64).depth(2).numHeads(4)
                .outDim(256).patchOutDim(256).hiddenDim(256).bottleneckDim(64)
                .sharedHead(true).sharedHeadTeacher(true).normLastLayer(false)
                .dropPathRate(0.1).seed(seed).numThreads(2)
                .build();
    }

    static StepParams params(double momentum) {
        return new StepParams(1e-3, 0.04, momentum, 0.04, 0.04, false, 3.0);
    }

    /**
     * A fixed batch of real images: global crops = image and its mirror, local crops = both halved, and
     * block masks on the first global crop of every other image (about a third of its patches).
     */
    static TrainBatch fixedBatch(Arena arena, IbotConfig config) {
        TrainBatch batch = TrainBatch.allocate(arena, config, BATCH, N_GLOBAL, N_LOCAL, GLOBAL, LOCAL);
        float[] images = FashionMnistSample.images(0, BATCH);
        float[] mirrored = FashionMnistSample.flipped(images, GLOBAL);
        copy(batch.globalCrops(), 0, images);
        copy(batch.globalCrops(), images.length, mirrored);
        float[] small = FashionMnistSample.halved(images, GLOBAL);
        copy(batch.localCrops(), 0, small);
        copy(batch.localCrops(), small.length, FashionMnistSample.halved(mirrored, GLOBAL));
        int grid = GLOBAL / config.patchSize();
        SplittableRandom random = new SplittableRandom(7);
        for (int i = 0; i < BATCH; i += 2) {
            int top = random.nextInt(grid - 4), left = random.nextInt(grid - 5);
            for (int y = top; y < top + 4; y++) {
                for (int x = left; x < left + 5; x++) batch.masks().set(ValueLayout.JAVA_BYTE, (long) i * grid * grid + y * grid + x, (byte) 1);
            }
        }
        return batch;
    }

    static void copy(MemorySegment target, long floatOffset, float[] values) {
        MemorySegment.copy(values, 0, target, ValueLayout.JAVA_FLOAT, floatOffset * Float.BYTES, values.length);
    }

    /** The tiny model of {@code seed} after {@code steps} steps on the fixed batch, saved at {@code file} with {@code metadata}. */
    static Path trainedCheckpoint(Path file, long seed, int steps, String metadata) throws IOException {
        IbotConfig config = config(seed);
        try (Arena arena = Arena.ofConfined(); IbotModel model = IbotModel.create(config)) {
            TrainBatch batch = fixedBatch(arena, config);
            for (int i = 0; i < steps; i++) model.trainStep(batch, params(0.9));
            Files.createDirectories(file.getParent());
            model.save(file, metadata);
        }
        return file;
    }

    /** A pretrain run's stored normalisation (Fashion-MNIST's), which an Encoder must take from the checkpoint. */
    static final String FASHION_NORMALISATION = "{\"options\": {\"mean\": [0.286], \"std\": [0.353]}}";
}
