package org.ibot4j.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.reflect.RecordComponent;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

class ErrorHandlingTest {

    @Test
    void libTorchErrorsBecomeJavaExceptionsAndTheModelStaysUsable() {
        IbotConfig config = TinyModels.config(5);
        try (Arena arena = Arena.ofConfined(); IbotModel model = IbotModel.create(config)) {
            // A 2x2 image is smaller than the 4x4 patch: refused before LibTorch's conv2d sees it.
            MemorySegment tiny = arena.allocate(ValueLayout.JAVA_FLOAT, 3 * 2 * 2);
            MemorySegment out = arena.allocate(ValueLayout.JAVA_FLOAT, config.embedDim());
            assertThatThrownBy(() -> model.embed(Network.TEACHER, tiny, 1, 2, 2, MemorySegment.NULL, out, MemorySegment.NULL))
                    .isInstanceOf(Ibot4jException.class)
                    .hasMessageContaining("smaller than one 4x4 patch")
                    .satisfies(e -> assertThat(((Ibot4jException) e).category()).isEqualTo(Ibot4jException.Category.INVALID_ARGUMENT));

            TrainBatch batch = TinyModels.fixedBatch(arena, config);
            assertThat(model.trainStep(batch, TinyModels.params(0.99)).finite()).isTrue();
        }
    }

    @Test
    void wrongShapesAreRefusedWithTheReason() {
        IbotConfig config = TinyModels.config(5);
        try (Arena arena = Arena.ofConfined(); IbotModel model = IbotModel.create(config)) {
            TrainBatch good = TinyModels.fixedBatch(arena, config);
            TrainBatch shortMasks = new TrainBatch(good.globalCrops(), good.localCrops(), good.masks().asSlice(0, 10),
                    good.batchSize(), good.nGlobal(), good.nLocal(), good.globalSize(), good.localSize());
            assertThatThrownBy(() -> model.trainStep(shortMasks, TinyModels.params(0.99)))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("masks holds 10 bytes");
            TrainBatch notMultiple = new TrainBatch(good.globalCrops(), good.localCrops(), good.masks(),
                    good.batchSize(), good.nGlobal(), good.nLocal(), 30, good.localSize());
            assertThatThrownBy(() -> model.trainStep(notMultiple, TinyModels.params(0.99)))
                    .isInstanceOf(InvalidConfigException.class)
                    .hasMessageContaining("global_size (30) must be a positive multiple of patch_size (4)");
            // Student masks passed to the teacher: refused by the native side (the teacher has no mask token).
            MemorySegment masks = arena.allocate(good.batchSize() * 64L);
            MemorySegment cls = arena.allocate(ValueLayout.JAVA_FLOAT, (long) good.batchSize() * config.embedDim());
            MemorySegment images = good.globalCrops().asSlice(0, (long) good.batchSize() * 3 * 32 * 32 * Float.BYTES);
            assertThatThrownBy(() -> model.embed(Network.TEACHER, images, good.batchSize(), 32, 32, masks, cls, MemorySegment.NULL))
                    .isInstanceOf(Ibot4jException.class)
                    .hasMessageContaining("mask tokens need the student network");
            assertThat(model.trainStep(good, TinyModels.params(0.99)).finite()).isTrue();
        }
    }

    @Test
    void nanInputUpdatesNothing() {
        IbotConfig config = TinyModels.config(6);
        try (Arena arena = Arena.ofConfined(); IbotModel model = IbotModel.create(config)) {
            TrainBatch batch = TinyModels.fixedBatch(arena, config);
            model.trainStep(batch, TinyModels.params(0.99));
            float[] student = model.readTensor("student.backbone.blocks.1.mlp.fc2.weight");
            float[] teacher = model.readTensor("teacher.backbone.blocks.1.mlp.fc2.weight");
            float[] center = model.readTensor("loss.center");
            float saved = batch.globalCrops().getAtIndex(ValueLayout.JAVA_FLOAT, 5);
            batch.globalCrops().setAtIndex(ValueLayout.JAVA_FLOAT, 5, Float.NaN);

            StepResult bad = model.trainStep(batch, TinyModels.params(0.99));

            assertThat(bad.finite()).isFalse();
            assertThat(bad.step()).isEqualTo(1);
            assertThat(bad.effectiveRank()).as("collapse metrics of a non-finite step").isNaN();
            assertThat(model.readTensor("student.backbone.blocks.1.mlp.fc2.weight")).containsExactly(student);
            assertThat(model.readTensor("teacher.backbone.blocks.1.mlp.fc2.weight")).containsExactly(teacher);
            assertThat(model.readTensor("loss.center")).containsExactly(center);
            batch.globalCrops().setAtIndex(ValueLayout.JAVA_FLOAT, 5, saved);
            StepResult good = model.trainStep(batch, TinyModels.params(0.99));
            assertThat(good.finite()).isTrue();
            assertThat(good.step()).isEqualTo(2);
        }
    }

    @Test
    void closedModelsAndOtherThreadsGetClearExceptions() throws Exception {
        IbotConfig config = TinyModels.config(7);
        IbotModel model = IbotModel.create(config);
        try (Arena arena = Arena.ofConfined()) {
            TrainBatch batch = TinyModels.fixedBatch(arena, config);
            Throwable fromOtherThread = CompletableFuture.supplyAsync(() -> {
                try {
                    model.trainStep(batch, TinyModels.params(0.99));
                    return null;
                } catch (Throwable t) {
                    return t;
                }
            }).get();
            assertThat(fromOtherThread).isInstanceOf(IllegalStateException.class).hasMessageContaining("confined to its creating thread");
            model.close();
            model.close();  // idempotent
            assertThat(model.isClosed()).isTrue();
            assertThatThrownBy(() -> model.trainStep(batch, TinyModels.params(0.99)))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
            assertThatThrownBy(model::tensorNames).isInstanceOf(IllegalStateException.class);
        }
    }

    @Test
    void badConfigsListEveryProblem() {
        assertThatThrownBy(() -> IbotConfig.builder().imgSize(30).patchSize(4).embedDim(65).numHeads(4).studentTemp(0).build())
                .isInstanceOf(InvalidConfigException.class)
                .satisfies(e -> assertThat(((InvalidConfigException) e).problems()).hasSize(3))
                .hasMessageContaining("img_size (30) must be a multiple of patch_size (4)")
                .hasMessageContaining("embed_dim (65) must be a multiple of num_heads (4)")
                .hasMessageContaining("student_temp must be > 0");
        assertThatThrownBy(() -> new StepParams(-1, 0.04, 2.0, 0.04, 0.0, false, 3))
                .isInstanceOf(InvalidConfigException.class)
                .satisfies(e -> assertThat(((InvalidConfigException) e).problems()).hasSize(3));
    }

    @Test
    void aConfigThatSkippedTheBuilderMeetsTheSameRulesAtModelCreation() throws ReflectiveOperationException {
        // The record's constructor leaves the rules to the native library; a model (or encoder) created
        // from an unchecked record is refused by the same rules, in the same words, before anything is built.
        IbotConfig valid = TinyModels.config(0);
        RecordComponent[] components = IbotConfig.class.getRecordComponents();
        Object[] values = new Object[components.length];
        for (int i = 0; i < components.length; i++) {
            values[i] = switch (components[i].getName()) {
                case "embedDim" -> 65;
                case "studentTemp" -> 0.0;
                default -> components[i].getAccessor().invoke(valid);
            };
        }
        IbotConfig unchecked = IbotConfig.class.getDeclaredConstructor(
                Arrays.stream(components).map(RecordComponent::getType).toArray(Class<?>[]::new)).newInstance(values);
        String fromBuilder = catchThrowable(() -> unchecked.toBuilder().build()).getMessage();
        assertThat(fromBuilder).contains("embed_dim (65) must be a multiple of num_heads").contains("student_temp must be > 0, got 0");
        assertThatThrownBy(() -> IbotModel.create(unchecked)).isInstanceOf(Ibot4jException.class)
                .hasMessageContaining(fromBuilder);
    }

    @Test
    void cudaWithoutCudaIsAClearError() {
        Assumptions.assumeFalse(NativeLibrary.load().cudaAvailable(), "a CUDA device is present");
        IbotConfig config = TinyModels.config(8).toBuilder().device(Device.CUDA).build();
        assertThatThrownBy(() -> IbotModel.create(config))
                .isInstanceOf(Ibot4jException.class)
                .hasMessageContaining("device CUDA was requested");
    }

    @Test
    void missingCheckpointIsAnIoError() {
        try (IbotModel model = IbotModel.create(TinyModels.config(9))) {
            assertThatThrownBy(() -> model.load(Path.of("/nonexistent/ckpt.pt")))
                    .isInstanceOf(Ibot4jException.class)
                    .hasMessageContaining("/nonexistent/ckpt.pt")
                    .satisfies(e -> assertThat(((Ibot4jException) e).category()).isEqualTo(Ibot4jException.Category.IO));
        }
    }
}
