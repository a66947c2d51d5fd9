package org.ibot4j.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.ibot4j.api.io.SafeTensors;
import org.junit.jupiter.api.Test;

/**
 * The step options of adapting a foundation model (docs/adaptation.md): DINOv3's Gram anchoring loss against a
 * PyTorch fixture (tools/reference/make_gram_fixture.py, whose function agrees with dinov3's own GramLoss to the
 * last bit) and inside a step, the Gram teacher's refresh, the frozen backbone of a head warm-up, and layer-wise lr
 * decay with the backbone multiplier, each read off the weights a step leaves; feature distillation's term against the
 * formula.
 */
class AdaptationStepTest {
    private static final Path FIXTURE = ParityTest.fixture("gram");

    @Test
    void gramLossAndItsGradientMatchThePyTorchFixture() throws IOException {
        try (SafeTensors f = SafeTensors.open(FIXTURE)) {
            long[] shape = f.entry("input.student").shape();
            int n = (int) shape[0], tokens = (int) shape[1], dim = (int) shape[2];
            float[] gradient = new float[n * tokens * dim];
            double loss = IbotModel.gramLoss(f.floats("input.student"), f.floats("input.teacher"), n, tokens, dim, gradient);
            double expected = f.floats("expected.loss")[0];
            // fp32 sums of n x N x N squared differences: a few ulps of the value.
            assertThat(Math.abs(loss - expected)).isLessThan(1e-6 * expected);
            float[] want = f.floats("expected.grad");
            double scale = 0, diff = 0;
            for (int i = 0; i < want.length; i++) {
                scale = Math.max(scale, Math.abs(want[i]));
                diff = Math.max(diff, Math.abs(want[i] - gradient[i]));
            }
            assertThat(diff).isLessThan(1e-5 * scale);
            // The same features give 0; a feature scaled by a positive factor changes nothing (the rows are normalised).
            float[] teacher = f.floats("input.teacher");
            float[] scaled = teacher.clone();
            for (int i = 0; i < scaled.length; i++) scaled[i] *= 3;
            assertThat(IbotModel.gramLoss(scaled, teacher, n, tokens, dim, null)).isLessThan(1e-12);
        }
        assertThatThrownBy(() -> IbotModel.gramLoss(new float[6], new float[6], 1, 2, 4, null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("n x tokens x dim = 1 x 2 x 4");
    }

    @Test
    void aStepAddsTheWeightedGramLossOfItsStudentAgainstTheRefreshedGramTeacher() {
        IbotConfig config = TinyModels.config(5).toBuilder().gramLossWeight(0.5).dropPathRate(0).build();
        try (Arena arena = Arena.ofConfined(); IbotModel model = IbotModel.create(config)) {
            TrainBatch batch = TinyModels.fixedBatch(arena, config);
            int n = TinyModels.BATCH * TinyModels.N_GLOBAL, size = TinyModels.GLOBAL, d = config.embedDim(), tokens = config.numPatches(size);
            // What the step's Gram term sees: the student's masked global crops against the teacher it is refreshed from.
            float[] student = patches(model, Network.STUDENT, batch.globalCrops(), batch.masks(), n, size, arena);
            float[] teacher = patches(model, Network.TEACHER, batch.globalCrops(), MemorySegment.NULL, n, size, arena);
            double expected = 0.5 * IbotModel.gramLoss(student, teacher, n, tokens, d, null);
            Map<String, float[]> before = state(model);

            StepResult r = model.trainStep(batch, refreshing(TinyModels.params(0.9)));
            assertThat(r.gramLoss()).isGreaterThan(0);
            assertThat(Math.abs(r.gramLoss() - expected)).isLessThan(1e-5 * expected);
            assertThat(r.loss()).isCloseTo(r.clsLoss() + r.patchLoss() + r.koleoLoss() + r.gramLoss(), within(1e-5));
            // The refresh copied the teacher's backbone as it was before the step; the step then moved the teacher.
            List<String> gram = model.tensorNames().stream().filter(s -> s.startsWith("gram.backbone.")).toList();
            assertThat(gram).isNotEmpty().contains("gram.backbone.cls_token");
            for (String name : gram) {
                assertThat(model.readTensor(name)).as(name).containsExactly(before.get(name.replace("gram.", "teacher.")));
            }
            Map<String, float[]> afterFirst = state(model);
            assertThat(afterFirst.get("teacher.backbone.cls_token")).isNotEqualTo(before.get("teacher.backbone.cls_token"));
            // Without a refresh the Gram teacher stays where it is.
            model.trainStep(batch, TinyModels.params(0.9));
            for (String name : gram) assertThat(model.readTensor(name)).as(name).containsExactly(afterFirst.get(name));
        }
    }

    @Test
    void aFrozenBackboneStepMovesOnlyTheHeadsAndTheStepAfterTrainsTheBackbone() {
        IbotConfig config = TinyModels.config(6);
        try (Arena arena = Arena.ofConfined(); IbotModel model = IbotModel.create(config)) {
            TrainBatch batch = TinyModels.fixedBatch(arena, config);
            StepParams p = TinyModels.params(0.9);
            StepParams frozen = new StepParams(p.lr(), p.weightDecay(), p.teacherMomentum(), p.teacherTemp(), p.teacherPatchTemp(), false,
                    p.clipGrad(), true, false);
            Map<String, float[]> before = state(model);
            for (int i = 0; i < 2; i++) assertThat(model.trainStep(batch, frozen).finite()).isTrue();
            Map<String, float[]> after = state(model);
            for (String name : before.keySet()) {
                boolean backbone = name.contains(".backbone.");
                if (backbone) assertThat(after.get(name)).as(name).containsExactly(before.get(name));
                else if (name.endsWith("head.mlp.0.weight")) assertThat(after.get(name)).as(name).isNotEqualTo(before.get(name));
            }
            model.trainStep(batch, p);
            assertThat(model.readTensor("student.backbone.blocks.0.attn.qkv.weight")).isNotEqualTo(before.get("student.backbone.blocks.0.attn.qkv.weight"));
            assertThat(model.readTensor("teacher.backbone.blocks.0.attn.qkv.weight")).isNotEqualTo(before.get("teacher.backbone.blocks.0.attn.qkv.weight"));
        }
    }

    /**
     * AdamW's first update of an element is lr x scale x g / (|g| + eps) (no weight decay here): where |g| is well above
     * eps, |update| / lr is the parameter's lr factor. Layer decay 0.5 at depth 2 with a backbone multiplier of 0.2: the
     * patch embedding and tokens 0.2 x 0.5^3, block 0 0.2 x 0.5^2, block 1 0.2 x 0.5, the final norm 0.2, the heads 1.
     */
    @Test
    void layerDecayAndTheBackboneMultiplierScaleEachParametersStep() {
        IbotConfig config = TinyModels.config(7).toBuilder().layerDecay(0.5).backboneLrMultiplier(0.2).dropPathRate(0).build();
        Map<String, Double> factors = Map.of("student.backbone.patch_embed.proj.weight", 0.025, "student.backbone.cls_token", 0.025,
                "student.backbone.blocks.0.mlp.fc1.weight", 0.05, "student.backbone.blocks.1.attn.qkv.weight", 0.1,
                "student.backbone.norm.weight", 0.2, "student.head.mlp.0.weight", 1.0);
        double lr = 1e-3;
        try (Arena arena = Arena.ofConfined(); IbotModel model = IbotModel.create(config)) {
            TrainBatch batch = TinyModels.fixedBatch(arena, config);
            Map<String, float[]> before = state(model);
            model.trainStep(batch, new StepParams(lr, 0, 0.9, 0.04, 0.04, false, 0));
            for (Map.Entry<String, Double> e : factors.entrySet()) {
                float[] grad = model.readTensor("grad." + e.getKey()), w0 = before.get(e.getKey()), w1 = model.readTensor(e.getKey());
                int counted = 0;
                for (int i = 0; i < grad.length; i++) {
                    if (Math.abs(grad[i]) < 1e-4) continue;  // g / (|g| + 1e-8) within 1e-4 of 1
                    double step = Math.abs((double) w1[i] - w0[i]) / lr;
                    // fp32 weights near 1 hold the update to ~1e-7 / lr: a 1e-3 relative error at the smallest factor.
                    assertThat(step).as(e.getKey() + "[" + i + "]").isCloseTo(e.getValue(), within(2e-3 * e.getValue() + 1e-4));
                    counted++;
                }
                assertThat(counted).as(e.getKey()).isGreaterThan(0);
            }
        }
    }

    /**
     * Feature distillation on a 64-wide student (patch 4: 8 x 8 tokens a 32-px crop) from a 32-wide teacher of patch 8
     * (4 x 4): the step's term equals the formula computed here from the student's masked tokens, its projection and the
     * teacher's tokens (an Encoder holding the teacher's weights), the teacher's patch grid resized bilinearly (PyTorch's
     * align_corners=False) to the student's; the teacher never moves, the projection does.
     */
    @Test
    void aDistillationStepRegressesTheProjectedStudentOnTheFrozenTeachersNormalisedTokens() {
        IbotConfig teacher = IbotConfig.builder().imgSize(32).patchSize(8).embedDim(32).depth(1).numHeads(2).numThreads(2).build();
        IbotConfig config = TinyModels.config(8).toBuilder().dropPathRate(0).distillFrom(teacher, 0.7).build();
        try (Arena arena = Arena.ofConfined(); IbotModel model = IbotModel.create(config); Encoder encoder = Encoder.withoutWeights(teacher)) {
            List<String> names = model.tensorNames().stream().filter(s -> s.startsWith("distill.backbone.")).toList();
            assertThat(names).contains("distill.backbone.cls_token", "distill.backbone.blocks.0.attn.qkv.weight");
            assertThat(model.tensorNames()).contains("student.distill_proj.weight").doesNotContain("teacher.distill_proj.weight");
            for (String name : names) {
                encoder.writeTensor(name.substring("distill.backbone.".length()), model.tensorShape(name), model.readTensor(name));
            }
            TrainBatch batch = TinyModels.fixedBatch(arena, config);
            int n = TinyModels.BATCH * TinyModels.N_GLOBAL, size = TinyModels.GLOBAL, d = config.embedDim(), dt = 32;
            int tokens = config.numPatches(size) + 1, teacherTokens = teacher.numPatches(size) + 1;
            MemorySegment studentCls = arena.allocate(ValueLayout.JAVA_FLOAT, (long) n * d);
            MemorySegment studentPatch = arena.allocate(ValueLayout.JAVA_FLOAT, (long) n * (tokens - 1) * d);
            model.embed(Network.STUDENT, batch.globalCrops(), n, size, size, batch.masks(), studentCls, studentPatch);
            MemorySegment teacherCls = arena.allocate(ValueLayout.JAVA_FLOAT, (long) n * dt);
            MemorySegment teacherPatch = arena.allocate(ValueLayout.JAVA_FLOAT, (long) n * (teacherTokens - 1) * dt);
            encoder.forward(batch.globalCrops(), n, size, size, teacherCls, teacherPatch);
            float[] w = model.readTensor("student.distill_proj.weight"), b = model.readTensor("student.distill_proj.bias");
            float[] sc = studentCls.toArray(ValueLayout.JAVA_FLOAT), sp = studentPatch.toArray(ValueLayout.JAVA_FLOAT);
            float[] tc = teacherCls.toArray(ValueLayout.JAVA_FLOAT), tp = teacherPatch.toArray(ValueLayout.JAVA_FLOAT);
            int grid = (int) Math.sqrt(tokens - 1), teacherGrid = (int) Math.sqrt(teacherTokens - 1);
            double sum = 0;
            for (int i = 0; i < n; i++) {
                for (int t = 0; t < tokens; t++) {
                    double[] s = new double[dt];
                    for (int o = 0; o < dt; o++) {
                        double v = b[o];
                        for (int k = 0; k < d; k++) v += w[o * d + k] * (t == 0 ? sc[i * d + k] : sp[(i * (tokens - 1) + t - 1) * d + k]);
                        s[o] = v;
                    }
                    double[] target = t == 0 ? slice(tc, i * dt, dt) : bilinear(tp, i, teacherGrid, dt, grid, (t - 1) / grid, (t - 1) % grid);
                    sum += squaredDistance(unit(s), unit(target));
                }
            }
            double expected = 0.7 * sum / (n * tokens);
            float[] teacherBefore = model.readTensor("distill.backbone.blocks.0.attn.qkv.weight");
            float[] projBefore = model.readTensor("student.distill_proj.weight");
            StepResult r = model.trainStep(batch, TinyModels.params(0.9));
            assertThat(r.distillLoss()).isGreaterThan(0);
            assertThat(Math.abs(r.distillLoss() - expected)).isLessThan(1e-5 * expected);
            assertThat(r.loss()).isCloseTo(r.clsLoss() + r.patchLoss() + r.koleoLoss() + r.gramLoss() + r.distillLoss(), within(1e-5));
            assertThat(model.readTensor("distill.backbone.blocks.0.attn.qkv.weight")).containsExactly(teacherBefore);
            assertThat(model.readTensor("student.distill_proj.weight")).isNotEqualTo(projBefore);
        }
    }

    /** PyTorch's bilinear resize (align_corners=False) of image i's [g x g x dim] grid, at output cell (y, x) of an [out x out] grid. */
    private static double[] bilinear(float[] grid, int i, int g, int dim, int out, int y, int x) {
        double scale = (double) g / out;
        double sy = Math.max(0, (y + 0.5) * scale - 0.5), sx = Math.max(0, (x + 0.5) * scale - 0.5);
        int y0 = (int) sy, x0 = (int) sx, y1 = Math.min(y0 + 1, g - 1), x1 = Math.min(x0 + 1, g - 1);
        double ly = sy - y0, lx = sx - x0;
        double[] v = new double[dim];
        for (int c = 0; c < dim; c++) {
            v[c] = (1 - ly) * ((1 - lx) * at(grid, i, g, dim, y0, x0, c) + lx * at(grid, i, g, dim, y0, x1, c))
                    + ly * ((1 - lx) * at(grid, i, g, dim, y1, x0, c) + lx * at(grid, i, g, dim, y1, x1, c));
        }
        return v;
    }

    private static double at(float[] grid, int i, int g, int dim, int y, int x, int c) {
        return grid[((i * g + y) * g + x) * dim + c];
    }

    private static double[] slice(float[] a, int from, int n) {
        double[] out = new double[n];
        for (int k = 0; k < n; k++) out[k] = a[from + k];
        return out;
    }

    private static double[] unit(double[] v) {
        double norm = 0;
        for (double x : v) norm += x * x;
        norm = Math.max(Math.sqrt(norm), 1e-12);
        double[] out = new double[v.length];
        for (int k = 0; k < v.length; k++) out[k] = v[k] / norm;
        return out;
    }

    private static double squaredDistance(double[] a, double[] b) {
        double s = 0;
        for (int k = 0; k < a.length; k++) s += (a[k] - b[k]) * (a[k] - b[k]);
        return s;
    }

    private static StepParams refreshing(StepParams p) {
        return new StepParams(p.lr(), p.weightDecay(), p.teacherMomentum(), p.teacherTemp(), p.teacherPatchTemp(), p.freezeLastLayer(), p.clipGrad(),
                false, true);
    }

    private static float[] patches(IbotModel model, Network which, MemorySegment images, MemorySegment masks, int n, int size, Arena arena) {
        int tokens = model.config().numPatches(size), d = model.config().embedDim();
        MemorySegment out = arena.allocate(ValueLayout.JAVA_FLOAT, (long) n * tokens * d);
        model.embed(which, images, n, size, size, masks, MemorySegment.NULL, out);
        return out.toArray(ValueLayout.JAVA_FLOAT);
    }

    private static Map<String, float[]> state(IbotModel model) {
        Map<String, float[]> out = new HashMap<>();
        for (String name : model.tensorNames()) out.put(name, model.readTensor(name));
        return out;
    }
}
