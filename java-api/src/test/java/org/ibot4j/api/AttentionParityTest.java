package org.ibot4j.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.Locale;
import org.assertj.core.data.Offset;
import org.ibot4j.api.io.SafeTensors;
import org.junit.jupiter.api.Test;

/**
 * The last block's [CLS] attention against the official {@code get_last_selfattention} of the Python
 * reference (tools/reference/make_attention_fixture.py), with the weights of the published fixture:
 * at the model's own size, at a smaller size and on a non-square image (interpolated positions).
 */
class AttentionParityTest {
    private static final double TOL = 1e-5;

    @Test
    void lastSelfAttentionMatchesTheReference() throws IOException {
        try (SafeTensors weights = SafeTensors.open(ParityTest.fixture("published"));
                SafeTensors f = SafeTensors.open(ParityTest.fixture("attention"));
                IbotModel model = IbotModel.create(ParityTest.configOf(new ObjectMapper().readTree(f.metadata().get("config"))))) {
            ParityTest.writeWeights(model, weights);
            int heads = model.config().numHeads();
            check(model, Network.TEACHER, weights.entry("input.global"), f, "expected.teacher_global_attention", heads);
            check(model, Network.STUDENT, weights.entry("input.local"), f, "expected.student_local_attention", heads);
            check(model, Network.TEACHER, f.entry("input.nonsquare"), f, "expected.teacher_nonsquare_attention", heads);
            check(model, Network.STUDENT, f.entry("input.nonsquare"), f, "expected.student_nonsquare_attention", heads);

            // The non-square grid through embed too: the positions are interpolated height by width.
            SafeTensors.Entry nonsquare = f.entry("input.nonsquare");
            int n = (int) nonsquare.shape()[0], h = (int) nonsquare.shape()[2], w = (int) nonsquare.shape()[3];
            int d = model.config().embedDim(), patches = (h / 4) * (w / 4);
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment cls = arena.allocate(ValueLayout.JAVA_FLOAT, (long) n * d);
                MemorySegment patch = arena.allocate(ValueLayout.JAVA_FLOAT, (long) n * patches * d);
                model.embed(Network.TEACHER, nonsquare.data(), n, h, w, MemorySegment.NULL, cls, patch);
                float[] expected = f.floats("expected.teacher_nonsquare_tokens"), c = cls.toArray(ValueLayout.JAVA_FLOAT),
                        p = patch.toArray(ValueLayout.JAVA_FLOAT), all = new float[expected.length];
                for (int i = 0; i < n; i++) {
                    System.arraycopy(c, i * d, all, i * (patches + 1) * d, d);
                    System.arraycopy(p, i * patches * d, all, i * (patches + 1) * d + d, patches * d);
                }
                double e = ParityTest.error(all, expected);
                System.out.println(String.format(Locale.ROOT, "parity attention %-40s %.2e", "teacher tokens 24x40", e));
                assertThat(e).as("teacher tokens of the 24x40 images").isLessThanOrEqualTo(TOL);
            }
        }
    }

    @Test
    void badCallsAreRefusedBeforeTheNativeCall() {
        IbotConfig config = TinyModels.config(1);
        try (IbotModel model = IbotModel.create(config); Arena arena = Arena.ofConfined()) {
            int size = config.imgSize(), heads = config.numHeads(), tokens = 1 + config.numPatches(size);
            MemorySegment images = arena.allocate(ValueLayout.JAVA_FLOAT, 2L * 3 * size * size);
            MemorySegment out = arena.allocate(ValueLayout.JAVA_FLOAT, 2L * heads * tokens);
            model.attention(Network.TEACHER, images, 2, size, size, out);
            assertThatThrownBy(() -> model.attention(Network.TEACHER, images, 2, size, size, out.asSlice(4)))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("out holds");
            assertThatThrownBy(() -> model.attention(Network.TEACHER, images, 2, size, size, out.asReadOnly()))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("read-only");
            assertThatThrownBy(() -> model.attention(Network.TEACHER, images, 3, size, size))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("images holds");
            assertThatThrownBy(() -> model.attention(Network.TEACHER, images, 0, size, size))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("at least one image");
            MemorySegment tiny = arena.allocate(ValueLayout.JAVA_FLOAT, 3L * 2 * 2);
            assertThatThrownBy(() -> model.attention(Network.TEACHER, tiny, 1, 2, 2))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("smaller than one");
            // The model is still usable and its rows are distributions.
            for (float[] row : model.attention(Network.STUDENT, images, 2, size, size)[1]) {
                double sum = 0;
                for (float v : row) sum += v;
                assertThat(sum).isCloseTo(1.0, Offset.offset(1e-5));
            }
        }
    }

    private static void check(IbotModel model, Network which, SafeTensors.Entry images, SafeTensors f, String expectedName, int heads) {
        long[] shape = images.shape();
        int n = (int) shape[0], h = (int) shape[2], w = (int) shape[3];
        float[][][] rows = model.attention(which, images.data(), n, h, w);
        float[] expected = f.floats(expectedName);
        int tokens = expected.length / (n * heads);
        assertThat(List.of(rows.length, rows[0].length, rows[0][0].length)).containsExactly(n, heads, tokens);
        float[] actual = new float[expected.length];
        for (int i = 0; i < n; i++) {
            for (int k = 0; k < heads; k++) System.arraycopy(rows[i][k], 0, actual, (i * heads + k) * tokens, tokens);
        }
        double e = ParityTest.error(actual, expected);
        System.out.println(String.format(Locale.ROOT, "parity attention %-40s %.2e", expectedName, e));
        assertThat(e).as(expectedName).isLessThanOrEqualTo(TOL);
    }
}
