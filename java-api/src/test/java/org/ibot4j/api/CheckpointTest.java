package org.ibot4j.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckpointTest {
    @TempDir
    Path dir;

    @Test
    void saveThenLoadGivesBitIdenticalEmbeddingsAndTraining() {
        IbotConfig config = TinyModels.config(11);
        Path file = dir.resolve("model.ckpt");
        try (Arena arena = Arena.ofConfined();
                IbotModel trained = IbotModel.create(config);
                IbotModel fresh = IbotModel.create(config.toBuilder().seed(99).build());
                IbotModel other = IbotModel.create(config.toBuilder().seed(98).build())) {
            TrainBatch batch = TinyModels.fixedBatch(arena, config);
            for (int i = 0; i < 3; i++) trained.trainStep(batch, TinyModels.params(0.99));
            trained.save(file, "{\"note\":\"after 3 steps\"}");
            MemorySegment images = batch.globalCrops();
            int n = TinyModels.BATCH * TinyModels.N_GLOBAL;

            fresh.load(file);

            for (Network which : Network.values()) {
                float[][] expected = trained.embedCls(which, images, n, 32, 32);
                assertThat(fresh.embedCls(which, images, n, 32, 32)).isDeepEqualTo(expected);
            }
            MemorySegment patchA = arena.allocate(ValueLayout.JAVA_FLOAT, (long) n * 64 * config.embedDim());
            MemorySegment patchB = arena.allocate(ValueLayout.JAVA_FLOAT, (long) n * 64 * config.embedDim());
            trained.embed(Network.STUDENT, images, n, 32, 32, batch.masks(), MemorySegment.NULL, patchA);
            fresh.embed(Network.STUDENT, images, n, 32, 32, batch.masks(), MemorySegment.NULL, patchB);
            assertThat(patchB.mismatch(patchA)).as("masked student patch tokens identical").isEqualTo(-1);
            assertThat(other.embedCls(Network.TEACHER, images, n, 32, 32)[0]).isNotEqualTo(trained.embedCls(Network.TEACHER, images, n, 32, 32)[0]);
            assertThat(IbotModel.readMetadata(file)).isEqualTo("{\"note\":\"after 3 steps\"}");

            // Optimiser state, step count and RNG came along too: the next step matches exactly.
            StepResult a = trained.trainStep(batch, TinyModels.params(0.99));
            StepResult b = fresh.trainStep(batch, TinyModels.params(0.99));
            assertThat(b).isEqualTo(a);
            assertThat(fresh.readTensor("student.head.mlp.0.weight")).containsExactly(trained.readTensor("student.head.mlp.0.weight"));
        }
    }

    @Test
    void aCheckpointOfAnotherArchitectureIsRefusedAndLeavesTheModelAsItWas() throws Exception {
        IbotConfig config = TinyModels.config(12);
        Path file = dir.resolve("deeper.ckpt");
        try (IbotModel deeper = IbotModel.create(config.toBuilder().depth(3).build());
                IbotModel model = IbotModel.create(config)) {
            deeper.save(file, "");
            float[] before = model.readTensor("student.backbone.pos_embed");
            assertThatThrownBy(() -> model.load(file))
                    .isInstanceOf(Ibot4jException.class)
                    .hasMessageContaining("different architecture")
                    .hasMessageContaining("depth=3");
            assertThat(model.readTensor("student.backbone.pos_embed")).containsExactly(before);

            Path garbage = dir.resolve("garbage.ckpt");
            Files.writeString(garbage, "not a checkpoint");
            assertThatThrownBy(() -> model.load(garbage)).isInstanceOf(Ibot4jException.class).hasMessageContaining("garbage.ckpt");
        }
    }
}
