package org.ibot4j.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/**
 * Loading is all or nothing: a checkpoint whose tensors are intact but whose generator state, step
 * count or optimiser record is wrong is refused, and the model keeps its weights, optimiser and step.
 */
class CheckpointLoadAtomicityTest {

    static IbotConfig config(long seed) {
        return IbotConfig.builder().imgSize(16).patchSize(4).inChans(1).embedDim(16).depth(1).numHeads(2)
                .outDim(16).patchOutDim(16).hiddenDim(16).bottleneckDim(8).sharedHead(true).sharedHeadTeacher(true)
                .normLastLayer(false).seed(seed).numThreads(1).build();
    }

    static Path fixture(String name) throws URISyntaxException {
        return Path.of(CheckpointLoadAtomicityTest.class.getResource("/fixtures/damaged-checkpoints/" + name).toURI());
    }

    static Map<String, float[]> state(IbotModel model) {
        Map<String, float[]> state = new LinkedHashMap<>();
        for (String name : model.tensorNames()) state.put(name, model.readTensor(name));
        return state;
    }

    /** Two steps on a fixed batch: the second depends on the optimiser's moments and step count. */
    static Map<String, float[]> stateAfterTwoSteps(IbotModel model) {
        try (Arena arena = Arena.ofConfined()) {
            TrainBatch batch = TrainBatch.allocate(arena, model.config(), 2, 2, 0, 16, 8);
            for (long i = 0; i < batch.globalCrops().byteSize() / Float.BYTES; i++) {
                batch.globalCrops().setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) Math.cos(i * 0.37));
            }
            StepParams params = new StepParams(1e-3, 0.04, 0.99, 0.04, 0.04, false, 3.0);
            model.trainStep(batch, params);
            model.trainStep(batch, params);
        }
        return state(model);
    }

    @ParameterizedTest
    @CsvSource({
        "bad_rng.ibot4j, generator",
        "bad_step.ibot4j, step",
        "bad_optimizer.ibot4j, optimiser state"})
    void aRefusedCheckpointLeavesTheModelAsItWas(String file, String named) throws Exception {
        Path bad = fixture(file);
        try (IbotModel model = IbotModel.create(config(11)); IbotModel untouched = IbotModel.create(config(11))) {
            Map<String, float[]> before = state(model);
            assertThatThrownBy(() -> model.load(bad))
                    .isInstanceOf(Ibot4jException.class)
                    .hasMessageContaining(bad.getFileName().toString())
                    .hasMessageContaining(named);
            Map<String, float[]> after = state(model);
            assertThat(after.keySet()).isEqualTo(before.keySet());
            before.forEach((name, values) -> assertThat(after.get(name)).as(name).containsExactly(values));
            // The optimiser and step count are unchanged too: the same two steps give the same weights.
            Map<String, float[]> trained = stateAfterTwoSteps(model), reference = stateAfterTwoSteps(untouched);
            reference.forEach((name, values) -> assertThat(trained.get(name)).as(name).containsExactly(values));
        }
    }

    @Test
    void theIntactCheckpointLoads() throws Exception {
        Path good = fixture("tiny.ibot4j");
        try (IbotModel model = IbotModel.create(config(11)); IbotModel reopened = IbotModel.open(good, 1)) {
            model.load(good);
            Map<String, float[]> loaded = state(model);
            state(reopened).forEach((name, values) -> assertThat(loaded.get(name)).as(name).containsExactly(values));
        }
    }
}
