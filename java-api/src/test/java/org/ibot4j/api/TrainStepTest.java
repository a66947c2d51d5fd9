package org.ibot4j.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class TrainStepTest {

    /**
     * With the teacher and both centres held fixed (momenta 1) the targets are fixed, so the student must
     * fit them: the loss falls towards the teacher's entropy. (With a moving teacher and centring the
     * iBOT loss need not fall: centring raises the targets' entropy, see the official issue #31.)
     */
    @Test
    void tinyModelOverfitsOneFixedBatch() {
        IbotConfig config = TinyModels.config(1).toBuilder().centerMomentum(1.0).centerMomentum2(1.0).build();
        try (Arena arena = Arena.ofConfined(); IbotModel model = IbotModel.create(config)) {
            TrainBatch batch = TinyModels.fixedBatch(arena, config);
            List<StepResult> results = new ArrayList<>();
            for (int i = 0; i < 50; i++) results.add(model.trainStep(batch, TinyModels.params(1.0)));

            assertThat(results).allMatch(StepResult::finite);
            assertThat(results.get(49).step()).isEqualTo(50);
            double first = mean(results.subList(0, 5)), last = mean(results.subList(45, 50));
            assertThat(last).as("loss: first 5 steps %.4f, last 5 steps %.4f", first, last).isLessThan(0.75 * first);
            for (StepResult r : results) {
                assertThat(r.loss()).isCloseTo(r.clsLoss() + r.patchLoss(), within(1e-5 * Math.abs(r.loss())));
                assertThat(r.gradNorm()).isPositive();
            }
        }
    }

    @Test
    void maskedPatchLossFallsUnderTheUsualDynamics() {
        IbotConfig config = TinyModels.config(1);
        try (Arena arena = Arena.ofConfined(); IbotModel model = IbotModel.create(config)) {
            TrainBatch batch = TinyModels.fixedBatch(arena, config);
            List<Double> patch = new ArrayList<>();
            for (int i = 0; i < 50; i++) patch.add(model.trainStep(batch, TinyModels.params(0.99)).patchLoss());
            double first = patch.subList(0, 5).stream().mapToDouble(d -> d).average().orElseThrow();
            double last = patch.subList(45, 50).stream().mapToDouble(d -> d).average().orElseThrow();
            assertThat(first).as("masked tokens give a patch loss").isPositive();
            assertThat(last).as("patch loss: first 5 steps %.4f, last 5 steps %.4f", first, last).isLessThan(0.7 * first);
        }
    }

    @Test
    void teacherFollowsTheEmaRuleAndDiffersFromTheStudent() {
        IbotConfig config = TinyModels.config(2);
        double momentum = 0.9;
        try (Arena arena = Arena.ofConfined(); IbotModel model = IbotModel.create(config)) {
            TrainBatch batch = TinyModels.fixedBatch(arena, config);
            String name = "blocks.0.attn.qkv.weight";
            assertThat(model.readTensor("teacher.backbone." + name))
                    .as("teacher starts as a copy of the student")
                    .containsExactly(model.readTensor("student.backbone." + name));
            for (int i = 0; i < 3; i++) model.trainStep(batch, TinyModels.params(momentum));

            float[] teacherBefore = model.readTensor("teacher.backbone." + name);
            model.trainStep(batch, TinyModels.params(momentum));
            float[] student = model.readTensor("student.backbone." + name);
            float[] teacher = model.readTensor("teacher.backbone." + name);

            double maxDiff = 0;
            for (int i = 0; i < teacher.length; i++) {
                double expected = momentum * teacherBefore[i] + (1 - momentum) * student[i];
                assertThat((double) teacher[i]).isCloseTo(expected, within(1e-6 + 1e-6 * Math.abs(expected)));
                maxDiff = Math.max(maxDiff, Math.abs(teacher[i] - student[i]));
            }
            assertThat(maxDiff).as("teacher lags the student").isGreaterThan(1e-4);
            assertThat(model.tensorNames()).doesNotContain("teacher.backbone.masked_embed").contains("student.backbone.masked_embed");
        }
    }

    @Test
    void centresMoveTowardsTheTeacherOutputs() {
        IbotConfig config = TinyModels.config(3);
        try (Arena arena = Arena.ofConfined(); IbotModel model = IbotModel.create(config)) {
            TrainBatch batch = TinyModels.fixedBatch(arena, config);
            assertThat(model.readTensor("loss.center")).containsOnly(0f);
            model.trainStep(batch, TinyModels.params(0.99));
            assertThat(model.tensorShape("loss.center")).containsExactly(1, 256);
            assertThat(model.tensorShape("loss.center2")).containsExactly(1, 1, 256);
            assertThat(model.readTensor("loss.center")).isNotEqualTo(new float[256]);
            assertThat(model.readTensor("loss.center2")).isNotEqualTo(new float[256]);
        }
    }

    @Test
    void frozenLastLayerIsNotUpdated() {
        IbotConfig config = TinyModels.config(4);
        try (Arena arena = Arena.ofConfined(); IbotModel model = IbotModel.create(config)) {
            TrainBatch batch = TinyModels.fixedBatch(arena, config);
            float[] vBefore = model.readTensor("student.head.last_layer.weight_v");
            float[] gBefore = model.readTensor("student.head.last_layer.weight_g");
            float[] mlpBefore = model.readTensor("student.head.mlp.0.weight");
            StepParams frozen = new StepParams(1e-3, 0.04, 0.99, 0.04, 0.04, true, 3.0);
            model.trainStep(batch, frozen);
            model.trainStep(batch, frozen);
            assertThat(model.readTensor("student.head.last_layer.weight_v")).containsExactly(vBefore);
            assertThat(model.readTensor("student.head.last_layer.weight_g")).containsExactly(gBefore);
            assertThat(model.readTensor("student.head.mlp.0.weight")).isNotEqualTo(mlpBefore);
        }
    }

    /** Official quirk: with the default flags the shared teacher projection starts as the student's patch projection. */
    @Test
    void sharedTeacherHeadStartsFromTheStudentsPatchProjection() {
        IbotConfig config = TinyModels.config(13).toBuilder().sharedHead(false).sharedHeadTeacher(true).normLastLayer(true).build();
        try (IbotModel model = IbotModel.create(config)) {
            assertThat(model.tensorNames()).contains("student.head.last_layer2.weight_v").doesNotContain("teacher.head.last_layer2.weight_v");
            assertThat(model.readTensor("teacher.head.last_layer.weight_v"))
                    .containsExactly(model.readTensor("student.head.last_layer2.weight_v"))
                    .isNotEqualTo(model.readTensor("student.head.last_layer.weight_v"));
        }
    }

    private static double mean(List<StepResult> results) {
        return results.stream().mapToDouble(StepResult::loss).average().orElseThrow();
    }

    /**
     * A weight-norm gain of 1e25 keeps the loss finite (log-softmax only shifts the huge logits) while
     * the gradients behind it reach ~1e26 and their norm overflows float32: the step must update
     * nothing, as for a non-finite loss (official iBOT stops on a non-finite loss only; the gradient
     * norm is checked here because clipping by an infinite norm would zero the gradients and let
     * weight decay and the optimiser's momentum move the weights anyway).
     */
    @Test
    void aFiniteLossWithANonFiniteGradientNormUpdatesNothing() {
        IbotConfig config = TinyModels.config(21);
        try (Arena arena = Arena.ofConfined(); IbotModel model = IbotModel.create(config)) {
            TrainBatch batch = TinyModels.fixedBatch(arena, config);
            String gain = "student.head.last_layer.weight_g";
            float[] g = model.readTensor(gain);
            Arrays.fill(g, 1e25f);
            model.writeTensor(gain, g);
            List<float[]> before = new ArrayList<>();
            for (String name : model.tensorNames()) before.add(model.readTensor(name));
            StepResult r = model.trainStep(batch, TinyModels.params(0.99));
            assertThat(Double.isFinite(r.loss())).as("the setup keeps the loss finite: %s", r).isTrue();
            assertThat(r.finite()).isFalse();
            assertThat(r.step()).isZero();
            List<String> names = model.tensorNames();
            for (int i = 0; i < names.size(); i++) assertThat(model.readTensor(names.get(i))).as(names.get(i)).containsExactly(before.get(i));
        }
    }
}
