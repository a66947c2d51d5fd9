package org.ibot4j.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Locale;
import org.ibot4j.api.io.SafeTensors;
import org.junit.jupiter.api.Test;

/**
 * {@link IbotModel#intermediateFeatures} against the official {@code get_intermediate_layers} of the
 * Python reference (fixture intermediate.safetensors, written by tools/reference/make_feature_fixture.py
 * from the weights and images of defaults.safetensors): the teacher on 32 px crops and the student on
 * 16 px crops (interpolated positions), every number of last blocks, the normed and raw patch means.
 * Same tolerance as the backbone's parity (docs/fidelity.md): relative 1e-5.
 */
class IntermediateFeaturesTest {
    private static final double TOL = 1e-5;

    @Test
    void matchesTheOfficialIntermediateLayers() throws IOException {
        try (SafeTensors weights = SafeTensors.open(ParityTest.fixture("defaults"));
                SafeTensors expected = SafeTensors.open(ParityTest.fixture("intermediate"));
                Arena arena = Arena.ofConfined()) {
            IbotConfig cfg = ParityTest.configOf(new ObjectMapper().readTree(weights.metadata().get("config")));
            try (IbotModel model = IbotModel.create(cfg)) {
                ParityTest.writeWeights(model, weights);
                check(model, Network.TEACHER, weights.entry("input.global").data(), 32, expected, arena);
                check(model, Network.STUDENT, weights.entry("input.local").data(), 16, expected, arena);
            }
        }
    }

    private static void check(IbotModel model, Network which, MemorySegment images, int size, SafeTensors expected, Arena arena) {
        String net = which.name().toLowerCase(Locale.ROOT);
        int d = model.config().embedDim(), count = (int) (images.byteSize() / Float.BYTES / (3L * size * size));
        for (int blocks = 1; blocks <= model.config().depth(); blocks++) {
            MemorySegment cls = arena.allocate(ValueLayout.JAVA_FLOAT, (long) count * blocks * d);
            MemorySegment mean = arena.allocate(ValueLayout.JAVA_FLOAT, (long) count * d);
            model.intermediateFeatures(which, images, count, size, size, blocks, true, cls, mean);
            assertClose(net + " cls" + blocks, cls, expected.floats("expected." + net + ".cls" + blocks));
            assertClose(net + " patch mean", mean, expected.floats("expected." + net + ".patch_mean"));
            model.intermediateFeatures(which, images, count, size, size, blocks, false, MemorySegment.NULL, mean);
            assertClose(net + " raw patch mean", mean, expected.floats("expected." + net + ".patch_mean_raw"));
        }
    }

    private static void assertClose(String what, MemorySegment actual, float[] expected) {
        double e = ParityTest.error(actual.toArray(ValueLayout.JAVA_FLOAT), expected);
        System.out.printf(Locale.ROOT, "intermediate %-24s %.2e%n", what, e);
        assertThat(e).as("%s relative error", what).isLessThanOrEqualTo(TOL);
    }

    @Test
    void refusesABlockCountOutsideTheDepthAndWrongSizes() {
        IbotConfig cfg = TinyModels.config(1);
        try (IbotModel model = IbotModel.create(cfg); Arena arena = Arena.ofConfined()) {
            int size = cfg.imgSize(), d = cfg.embedDim();
            MemorySegment images = arena.allocate(ValueLayout.JAVA_FLOAT, 2L * 3 * size * size);
            MemorySegment cls = arena.allocate(ValueLayout.JAVA_FLOAT, 2L * d);
            assertThatThrownBy(() -> model.intermediateFeatures(Network.TEACHER, images, 2, size, size, 0, true, cls, MemorySegment.NULL))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("nLastBlocks must be in 1.." + cfg.depth());
            assertThatThrownBy(() -> model.intermediateFeatures(Network.TEACHER, images, 2, size, size, cfg.depth() + 1, true, cls,
                    MemorySegment.NULL)).isInstanceOf(IllegalArgumentException.class);
            // out_cls sized for one block but asked for two
            assertThatThrownBy(() -> model.intermediateFeatures(Network.TEACHER, images, 2, size, size, 2, true, cls, MemorySegment.NULL))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("out_cls");
            model.intermediateFeatures(Network.TEACHER, images, 2, size, size, 1, true, cls, MemorySegment.NULL);
        }
    }
}
