package org.ibot4j.trainer.eval;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import org.assertj.core.data.Offset;
import org.ibot4j.api.io.SafeTensors;
import org.junit.jupiter.api.Test;

class LinearClassifiersTest {
    /**
     * The Java trainer replays PyTorch's (nn.Linear + CrossEntropyLoss + SGD momentum 0.9, weight decay,
     * CosineAnnealingLR per epoch, a short last batch) on fixed features: fixture linear_sgd.safetensors
     * from tools/reference/make_linear_fixture.py. Both heads, after 9 steps, within 1e-5 of the weights'
     * scale (float32 sums in a different order).
     */
    @Test
    void sgdStepsMatchPyTorch() throws Exception {
        Path file = Path.of(getClass().getResource("/fixtures/linear_sgd.safetensors").toURI());
        try (SafeTensors f = SafeTensors.open(file)) {
            double[] lrs = new ObjectMapper().readValue(f.metadata().get("lrs"), double[].class);
            int epochs = Integer.parseInt(f.metadata().get("epochs")), batch = Integer.parseInt(f.metadata().get("batch_size"));
            float[] flat = f.floats("features"), labelsF = f.floats("labels"), w0 = f.floats("init.weight"), b0 = f.floats("init.bias");
            int n = labelsF.length, dim = flat.length / n, classes = b0.length;
            float[][] x = new float[n][];
            int[] y = new int[n];
            for (int i = 0; i < n; i++) {
                x[i] = Arrays.copyOfRange(flat, i * dim, (i + 1) * dim);
                y[i] = (int) labelsF[i];
            }
            LinearClassifiers heads = new LinearClassifiers(dim, classes, lrs, Double.parseDouble(f.metadata().get("momentum")),
                    Double.parseDouble(f.metadata().get("weight_decay")), 0);
            for (int h = 0; h < lrs.length; h++) heads.setParameters(h, w0, b0);
            for (int epoch = 0; epoch < epochs; epoch++) {
                heads.setEpoch(epoch, epochs);
                for (int start = 0; start < n; start += batch) {
                    int end = Math.min(n, start + batch);
                    heads.step(Arrays.copyOfRange(x, start, end), Arrays.copyOfRange(y, start, end));
                }
            }
            for (int h = 0; h < lrs.length; h++) {
                assertClose("weight of head " + h, heads.weight(h), f.floats("after." + h + ".weight"));
                assertClose("bias of head " + h, heads.bias(h), f.floats("after." + h + ".bias"));
                // The trained heads classify as PyTorch's do.
                float[] logits = f.floats("logits." + h);
                int top1 = 0;
                for (int i = 0; i < n; i++) {
                    int best = 0;
                    for (int c = 1; c < classes; c++) if (logits[i * classes + c] > logits[i * classes + best]) best = c;
                    if (best == y[i]) top1++;
                }
                assertThat(heads.evaluate(x, y)[h].top1()).isEqualTo(100.0 * top1 / n);
            }
        }
    }

    private static void assertClose(String what, float[] actual, float[] expected) {
        double maxDiff = 0, scale = 0;
        for (int i = 0; i < expected.length; i++) {
            maxDiff = Math.max(maxDiff, Math.abs(actual[i] - expected[i]));
            scale = Math.max(scale, Math.abs(expected[i]));
        }
        System.out.printf(Locale.ROOT, "linear sgd %-16s max diff %.2e (scale %.3f)%n", what, maxDiff, scale);
        assertThat(maxDiff / scale).as(what).isLessThanOrEqualTo(1e-5);
    }

    @Test
    void cosineScheduleHalvesAtMidTrainingAndStartsAtTheBaseRate() {
        LinearClassifiers heads = new LinearClassifiers(3, 2, new double[] {0.4, 2.0}, 0.9, 0, 1);
        heads.setEpoch(0, 10);
        assertThat(heads.lr(0)).isEqualTo(0.4);
        heads.setEpoch(5, 10);
        assertThat(heads.lr(1)).isCloseTo(1.0, Offset.offset(1e-12));
    }

    @Test
    void refusesLabelsOutsideTheClassesAndMismatchedWidths() {
        LinearClassifiers heads = new LinearClassifiers(3, 2, new double[] {0.1}, 0.9, 0, 1);
        assertThatThrownBy(() -> heads.step(new float[][] {{1, 2, 3}}, new int[] {2})).hasMessageContaining("label 2 is outside 0..1");
        assertThatThrownBy(() -> heads.step(new float[][] {{1, 2}}, new int[] {0})).hasMessageContaining("has 2 values, expected 3");
    }
}
