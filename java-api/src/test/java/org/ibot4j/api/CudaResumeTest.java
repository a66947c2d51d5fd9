package org.ibot4j.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.Arena;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A checkpoint written on the CPU resumes on CUDA: the optimiser's moments follow their parameters to
 * the GPU, and the next step matches the CPU's next step within cross-device rounding. Runs only
 * where LibTorch sees a CUDA device (ci/gpu-check's machine); skipped elsewhere.
 */
class CudaResumeTest {
    @Test
    void aCpuCheckpointResumesOnCuda(@TempDir Path dir) {
        assumeTrue(NativeLibrary.load().cudaAvailable(), "no CUDA device");
        IbotConfig cpu = TinyModels.config(9);
        Path checkpoint = dir.resolve("cpu.ibot4j");
        try (Arena arena = Arena.ofConfined(); IbotModel onCpu = IbotModel.create(cpu); IbotModel onGpu = IbotModel.create(cpu.toBuilder().device(Device.CUDA).build())) {
            TrainBatch batch = TinyModels.fixedBatch(arena, cpu);
            onCpu.trainStep(batch, TinyModels.params(0.99));
            onCpu.save(checkpoint, "{}");
            onGpu.load(checkpoint);
            StepResult next = onGpu.trainStep(batch, TinyModels.params(0.99)), reference = onCpu.trainStep(batch, TinyModels.params(0.99));
            assertThat(next.finite()).isTrue();
            assertThat(next.step()).isEqualTo(2);
            assertThat(next.loss()).isCloseTo(reference.loss(), within(1e-3 * Math.abs(reference.loss())));
        }
    }
}
