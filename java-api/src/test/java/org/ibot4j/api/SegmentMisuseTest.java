package org.ibot4j.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** Misused memory is refused with a message naming the argument, before native code sees it. */
class SegmentMisuseTest {
    @Test
    void segmentsNameTheArgumentAndTheProblem() throws Exception {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment four = arena.allocate(ValueLayout.JAVA_FLOAT, 4);
            assertThatCode(() -> Segments.requireFloats("x", four, 4)).doesNotThrowAnyException();
            assertThatCode(() -> Segments.requireWritableFloats("x", four, 4)).doesNotThrowAnyException();
            assertThatCode(() -> Segments.requireFloats("x", four.asReadOnly(), 4)).doesNotThrowAnyException();

            assertThatThrownBy(() -> Segments.requireFloats("images", MemorySegment.NULL, 4))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("images").hasMessageContaining("missing");
            assertThatThrownBy(() -> Segments.requireFloats("images", null, 4))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("images");
            assertThatThrownBy(() -> Segments.requireFloats("images", MemorySegment.ofArray(new float[4]), 4))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("images").hasMessageContaining("off-heap");
            assertThatThrownBy(() -> Segments.requireFloats("tokens", four, 5))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("tokens").hasMessageContaining("16 bytes");
            assertThatThrownBy(() -> Segments.requireWritableFloats("out_cls", four.asReadOnly(), 4))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("out_cls").hasMessageContaining("read-only");

            Throwable other = CompletableFuture.supplyAsync(() -> {
                try {
                    Segments.requireFloats("masks", four, 4);
                    return null;
                } catch (RuntimeException e) {
                    return e;
                }
            }).get();
            assertThat(other).isInstanceOf(IllegalStateException.class).hasMessageContaining("masks").hasMessageContaining("thread");
        }
        MemorySegment freed;
        try (Arena arena = Arena.ofConfined()) {
            freed = arena.allocate(ValueLayout.JAVA_FLOAT, 4);
        }
        assertThatThrownBy(() -> Segments.requireWritableFloats("out_patch", freed, 4))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("out_patch").hasMessageContaining("closed");
    }

    @Test
    void aBatchFromAClosedArenaIsRefusedAndTheModelStaysUsable() {
        IbotConfig config = TinyModels.config(3);
        try (IbotModel model = IbotModel.create(config)) {
            TrainBatch stale;
            try (Arena arena = Arena.ofConfined()) {
                stale = filledBatch(arena, config);
            }
            assertThatThrownBy(() -> model.trainStep(stale, TinyModels.params(0.9)))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("global_crops").hasMessageContaining("closed");
            assertThatThrownBy(() -> model.trainStepDryRun(stale, TinyModels.params(0.9)))
                    .isInstanceOf(IllegalStateException.class);
            try (Arena arena = Arena.ofConfined()) {
                StepResult result = model.trainStep(filledBatch(arena, config), TinyModels.params(0.9));
                assertThat(result.step()).isEqualTo(1);
                assertThat(result.finite()).isTrue();
            }
        }
    }

    @Test
    void embedRefusesFreedWrongSizedAndHeapMemory() {
        IbotConfig config = TinyModels.config(3);
        int n = 2, size = 32;
        long imageFloats = (long) n * 3 * size * size;
        try (IbotModel model = IbotModel.create(config); Arena arena = Arena.ofConfined()) {
            MemorySegment images = arena.allocate(ValueLayout.JAVA_FLOAT, imageFloats);
            MemorySegment freed;
            try (Arena shortLived = Arena.ofConfined()) {
                freed = shortLived.allocate(ValueLayout.JAVA_FLOAT, imageFloats);
            }
            assertThatThrownBy(() -> model.embedCls(Network.TEACHER, freed, n, size, size))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("images");
            MemorySegment smallOut = arena.allocate(ValueLayout.JAVA_FLOAT, (long) n * config.embedDim() - 1);
            assertThatThrownBy(() -> model.embed(Network.TEACHER, images, n, size, size, MemorySegment.NULL, smallOut, MemorySegment.NULL))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("out_cls");
            MemorySegment heap = MemorySegment.ofArray(new float[(int) imageFloats]);
            assertThatThrownBy(() -> model.embedCls(Network.TEACHER, heap, n, size, size))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("images");
            // A read-only input is fine: native code only reads it.
            assertThat(model.embedCls(Network.TEACHER, images.asReadOnly(), n, size, size)).hasDimensions(n, config.embedDim());
        }
    }

    private static TrainBatch filledBatch(Arena arena, IbotConfig config) {
        TrainBatch batch = TrainBatch.allocate(arena, config, 2, 2, 1, 32, 16);
        SplittableRandom random = new SplittableRandom(1);
        for (MemorySegment s : new MemorySegment[] {batch.globalCrops(), batch.localCrops()}) {
            for (long i = 0; i < s.byteSize() / Float.BYTES; i++) s.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) random.nextGaussian());
        }
        return batch;
    }
}
