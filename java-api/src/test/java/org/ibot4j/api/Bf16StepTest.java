package org.ibot4j.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import org.junit.jupiter.api.Test;

/**
 * bf16 autocast against the fp32 step (itself checked against the Python reference by ParityTest):
 * the same model, batch and seed, one step each. bf16 rounds every matrix product's inputs to 8
 * significant bits (relative error up to 2^-9 = 0.2 %) and accumulates in fp32; the loss, softmax and
 * weights stay fp32. The bounds below are a few times what that rounding gives through this model.
 */
class Bf16StepTest {
    private static final double LOSS_REL = 1e-2, GRAD_NORM_REL = 5e-2, UPDATE_COSINE = 0.98;

    @Test
    void bf16IsRefusedOnACpuThatWouldEmulateItUnlessForced() {
        IbotConfig bf16 = TinyModels.config(3).toBuilder().bf16Autocast(true).build();
        if (NativeLibrary.load().cpuNativeBf16()) {
            try (IbotModel model = IbotModel.create(bf16)) {
                assertThat(model.config().bf16Autocast()).isTrue();
            }
        } else {
            assertThatThrownBy(() -> IbotModel.create(bf16)).isInstanceOf(Ibot4jException.class)
                    .hasMessageContaining("no native bf16").hasMessageContaining("slower").hasMessageContaining("force_bf16");
        }
        try (IbotModel forced = IbotModel.create(bf16.toBuilder().forceBf16(true).build())) {
            assertThat(forced.config().forceBf16()).isTrue();
        }
    }

    @Test
    void oneBf16StepAgreesWithTheFp32StepWithinBf16Rounding() {
        IbotConfig fp32 = TinyModels.config(5);
        IbotConfig bf16 = fp32.toBuilder().bf16Autocast(true).forceBf16(true).build();
        try (Arena arena = Arena.ofConfined(); IbotModel a = IbotModel.create(fp32); IbotModel b = IbotModel.create(bf16)) {
            TrainBatch batch = TinyModels.fixedBatch(arena, fp32);
            String[] names = a.tensorNames().stream().filter(n -> n.startsWith("student.")).toArray(String[]::new);
            float[][] before = new float[names.length][];
            for (int i = 0; i < names.length; i++) before[i] = a.readTensor(names[i]);

            StepResult ra = a.trainStep(batch, TinyModels.params(0.99)), rb = b.trainStep(batch, TinyModels.params(0.99));
            assertThat(rb.finite()).isTrue();
            assertThat(rb.gradNorm()).as("autocast is in effect: bf16 rounding shows").isNotEqualTo(ra.gradNorm());
            assertThat(relative(rb.clsLoss(), ra.clsLoss())).as("cls loss %s vs %s", rb.clsLoss(), ra.clsLoss()).isLessThan(LOSS_REL);
            assertThat(relative(rb.patchLoss(), ra.patchLoss())).as("patch loss %s vs %s", rb.patchLoss(), ra.patchLoss()).isLessThan(LOSS_REL);
            assertThat(relative(rb.gradNorm(), ra.gradNorm())).as("grad norm %s vs %s", rb.gradNorm(), ra.gradNorm()).isLessThan(GRAD_NORM_REL);

            // The weights stay fp32 and move the same way: the update vectors point the same direction.
            double dot = 0, na = 0, nb = 0;
            for (int i = 0; i < names.length; i++) {
                float[] pa = a.readTensor(names[i]), pb = b.readTensor(names[i]);
                for (int j = 0; j < pa.length; j++) {
                    double ua = pa[j] - before[i][j], ub = pb[j] - before[i][j];
                    dot += ua * ub;
                    na += ua * ua;
                    nb += ub * ub;
                }
            }
            double cosine = dot / Math.sqrt(na * nb);
            System.out.printf("bf16 vs fp32 step: cls %.3e, patch %.3e, grad norm %.3e relative; update cosine %.5f%n",
                    relative(rb.clsLoss(), ra.clsLoss()), relative(rb.patchLoss(), ra.patchLoss()),
                    relative(rb.gradNorm(), ra.gradNorm()), cosine);
            assertThat(cosine).isGreaterThan(UPDATE_COSINE);
        }
    }

    private static double relative(double value, double reference) {
        return Math.abs(value - reference) / Math.abs(reference);
    }
}
