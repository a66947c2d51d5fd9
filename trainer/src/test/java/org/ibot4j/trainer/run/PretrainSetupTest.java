package org.ibot4j.trainer.run;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.lang.reflect.RecordComponent;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import org.ibot4j.api.Centering;
import org.ibot4j.api.Family;
import org.ibot4j.api.IbotConfig;
import org.ibot4j.api.StepParams;
import org.ibot4j.trainer.schedule.Schedules;
import org.junit.jupiter.api.Test;

class PretrainSetupTest {
    /** 1,000 images at batch 100: 10 iterations per epoch, 20 epochs. */
    static PretrainSetup setup(Map<String, Object> given) {
        PretrainOptions o = new PretrainOptions().given(Map.of("batch_size_per_gpu", 100, "epochs", 20, "warmup_epochs", 2,
                "warmup_teacher_temp_epochs", 5, "freeze_last_layer", 3, "lr", 1e-3, "min_lr", 1e-5)).given(given);
        return PretrainSetup.of(o, 1000, new int[] {224, 224});
    }

    @Test
    void everyScheduleFollowsTheOfficialFormulaPerIterationOrEpoch() {
        Schedules s = setup(Map.of()).schedules();
        double peak = 1e-3 * 100 / 256;  // lr scaled by batch / 256
        long total = 200, warmup = 20;
        for (long it = 0; it < total; it++) {
            StepParams p = s.at(it);
            int epoch = (int) (it / 10);
            // numpy.linspace(0, peak, warmup) then final + (base - final) / 2 * (1 + cos(pi * i / n))
            double lr = it < warmup ? peak * it / (warmup - 1)
                    : 1e-5 + (peak - 1e-5) / 2 * (1 + Math.cos(Math.PI * (it - warmup) / (total - warmup)));
            double wd = 0.4 + (0.04 - 0.4) / 2 * (1 + Math.cos(Math.PI * it / total));
            double momentum = 1.0 + (0.996 - 1.0) / 2 * (1 + Math.cos(Math.PI * it / total));
            double temp = epoch < 5 ? 0.04 + (0.07 - 0.04) * epoch / 4 : 0.07;
            assertThat(p.lr()).as("lr at %d", it).isCloseTo(lr, within(1e-12));
            assertThat(p.weightDecay()).as("wd at %d", it).isCloseTo(wd, within(1e-12));
            assertThat(p.teacherMomentum()).as("momentum at %d", it).isCloseTo(momentum, within(1e-12));
            assertThat(p.teacherTemp()).as("teacher_temp at %d", it).isCloseTo(temp, within(1e-12));
            assertThat(p.teacherPatchTemp()).isCloseTo(temp, within(1e-12));
            assertThat(p.freezeLastLayer()).as("freeze at %d", it).isEqualTo(epoch < 3);
            assertThat(p.clipGrad()).isEqualTo(3.0);
        }
    }

    @Test
    void predStartEpochHoldsThePatchTemperatureAndMasksNothingBefore() {
        PretrainSetup setup = setup(Map.of("pred_start_epoch", 4));
        assertThat(setup.schedules().at(39).teacherPatchTemp()).isEqualTo(0.04);   // epoch 3
        assertThat(setup.schedules().at(50).teacherPatchTemp()).isCloseTo(0.04 + 0.03 / 4, within(1e-12));  // epoch 5
        assertThat(setup.schedules().at(50).teacherTemp()).isCloseTo(0.07, within(1e-12));
        boolean[] mask = new boolean[196];
        setup.masking().fill(mask, 14, 3, new SplittableRandom(1));
        assertThat(mask).doesNotContain(true);
    }

    @Test
    void smallImagesGetSmallCropsAndPatchesUnlessGiven() {
        PretrainOptions o = new PretrainOptions().given(Map.of("local_crop_size", 24));
        PretrainSetup s = PretrainSetup.of(o, 1000, new int[] {28, 28});
        assertThat(s.model().imgSize()).isEqualTo(32);
        assertThat(s.model().patchSize()).isEqualTo(8);
        assertThat(s.augmentation().options().localSize()).isEqualTo(24);
        assertThat(s.augmentation().options().globalScale()).containsExactly(0.5, 1.0);
        assertThat(s.augmentation().options().localScale()).containsExactly(0.15, 0.5);
        assertThat(s.model().outDim()).isEqualTo(1024);
        assertThat(s.model().hiddenDim()).isEqualTo(1024);
        assertThat(s.augmentation().options().nLocal()).isEqualTo(4);
        // The defaults land in the setup's copy; the options given stay as given.
        assertThat(s.options().patchSize).isEqualTo(8);
        assertThat(o.patchSize).isEqualTo(new PretrainOptions().patchSize);
        assertThat(o.localCropSize).isEqualTo(24);
        assertThat(s.options().isExplicit("local_crop_size")).isTrue();
        assertThat(s.options().isExplicit("patch_size")).isFalse();
        assertThat(s.batchSize()).isEqualTo(64);
        PretrainSetup chosen = PretrainSetup.of(new PretrainOptions().given(Map.of("out_dim", 4096, "patch_out_dim", 4096,
                "local_crops_number", 6, "batch_size_per_gpu", 32, "patch_size", 4, "local_crops_scale", List.of(0.05, 0.25))),
                1000, new int[] {28, 28});
        assertThat(chosen.model().outDim()).isEqualTo(4096);
        assertThat(chosen.model().patchSize()).isEqualTo(4);
        assertThat(chosen.augmentation().options().localScale()).containsExactly(0.05, 0.25);
        assertThat(chosen.augmentation().options().globalScale()).containsExactly(0.5, 1.0);
        assertThat(chosen.augmentation().options().nLocal()).isEqualTo(6);
        assertThat(chosen.batchSize()).isEqualTo(32);
        PretrainSetup large = PretrainSetup.of(new PretrainOptions(), 1000, new int[] {500, 375});
        assertThat(large.model().imgSize()).isEqualTo(224);
        assertThat(large.model().patchSize()).isEqualTo(16);
        assertThat(large.model().outDim()).isEqualTo(8192);
        assertThat(large.augmentation().options().nLocal()).isEqualTo(10);
        assertThat(large.augmentation().options().localScale()).containsExactly(0.05, 0.25);
        assertThat(large.batchSize()).isEqualTo(128);
    }

    @Test
    void archAndOverridesSetTheBackbone() {
        PretrainSetup s = setup(Map.of("arch", "vit_tiny", "depth", 6));
        assertThat(s.model().embedDim()).isEqualTo(192);
        assertThat(s.model().numHeads()).isEqualTo(3);
        assertThat(s.model().depth()).isEqualTo(6);
    }

    @Test
    void aDinoNameKeepsItsPatchUnlessOneIsGiven() {
        PretrainSetup dinov2 = PretrainSetup.of(new PretrainOptions().given(Map.of("arch", "vit_small_patch14_dinov2")), 1000, new int[] {224, 224});
        assertThat(dinov2.model().patchSize()).isEqualTo(14);
        assertThat(dinov2.model().numRegisterTokens()).isZero();
        PretrainSetup given = PretrainSetup.of(new PretrainOptions().given(Map.of("arch", "vit_small_patch16_dinov3", "patch_size", 8)), 1000,
                new int[] {28, 28});
        assertThat(given.model().patchSize()).isEqualTo(8);
        assertThat(given.model().family()).isEqualTo(Family.DINOV3);
    }

    @Test
    void everyProblemIsReportedAtOnce() {
        assertThatThrownBy(() -> setup(Map.of("use_fp16", true, "warmup_epochs", 30, "local_crops_scale", List.of(0.5, 0.2),
                "pred_ratio", List.of(0.9), "pred_ratio_var", List.of(0.3))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("use_fp16").hasMessageContaining("warmup_epochs")
                .hasMessageContaining("local_crops_scale").hasMessageContaining("pred_ratio 0.9 +- 0.3");
        assertThatThrownBy(() -> PretrainSetup.of(new PretrainOptions(), 50, new int[] {32, 32}))
                .hasMessageContaining("50 images, fewer than one batch of 64");
        assertThatThrownBy(() -> setup(Map.of("koleo_loss_weight", -1, "collapse_warn_steps", 0)))
                .hasMessageContaining("koleo_loss_weight must be >= 0, got -1").hasMessageContaining("collapse_warn_steps must be > 0, got 0");
        assertThatThrownBy(() -> setup(Map.of("gram_loss_weight", 1, "global_crop_size", 8, "local_crop_size", 8, "patch_size", 8)))
                .hasMessageContaining("gram_loss_weight 1.0 needs patch tokens to anchor: a global crop of 8 px at patch 8 has 1");
        assertThatThrownBy(() -> setup(Map.of("gram_loss_weight", 1, "gram_teacher", "ema", "freeze_backbone_epochs", -1)))
                .hasMessageContaining("gram_teacher ema needs gram_refresh_epochs > 0")
                .hasMessageContaining("freeze_backbone_epochs must be >= 0, got -1");
        assertThatThrownBy(() -> setup(Map.of("gram_refresh_epochs", 2, "layer_decay", 1.5)))
                .hasMessageContaining("gram_refresh_epochs 2 applies to --gram_teacher ema").hasMessageContaining("layer_decay must be in (0, 1]");
        assertThatThrownBy(() -> setup(Map.of("koleo_loss_weight", 0.1, "batch_size_per_gpu", 1)))
                .hasMessageContaining("koleo_loss_weight 0.1 needs batch_size_per_gpu >= 2");
        PretrainOptions sk = new PretrainOptions().given(Map.of("centering", "sinkhorn_knopp"));
        assertThatThrownBy(() -> PretrainSetup.of(sk, 10_000, new int[] {32, 32}, 2))
                .hasMessageContaining("centering sinkhorn_knopp is not supported data-parallel yet (2 processes)");
        assertThat(setup(Map.of("centering", "sinkhorn_knopp", "koleo_loss_weight", 0.1)).model())
                .satisfies(m -> assertThat(m.centering()).isEqualTo(Centering.SINKHORN_KNOPP))
                .satisfies(m -> assertThat(m.koleoLossWeight()).isEqualTo(0.1));
    }

    /**
     * Every model option reaches the model config: each IbotConfig component that an option sets, set
     * alone to another value, shows up in the setup's model. A component without an option of its name
     * (nor an entry in ModelOptions.OPTION_OF or NOT_OPTIONS) fails here, as would a mapping that drops one.
     */
    @Test
    void everyModelOptionReachesTheModelConfig() throws ReflectiveOperationException {
        Map<String, Object> base = Map.of("embed_dim", 192, "depth", 2, "num_heads", 3, "shared_head", false, "shared_head_teacher", false,
                "seed", 7, "koleo_loss_weight", 0.1, "layer_decay", 0.5, "gram_loss_weight", 0.1);
        IbotConfig before = setup(base).model();
        List<String> reached = new ArrayList<>();
        for (RecordComponent c : IbotConfig.class.getRecordComponents()) {
            if (ModelOptions.NOT_OPTIONS.contains(c.getName())) continue;
            // threads may not exceed the CPUs: with one CPU, 1 is the only value there is.
            if (c.getName().equals("numThreads") && Runtime.getRuntime().availableProcessors() < 2) continue;
            String option = ModelOptions.OPTION_OF.getOrDefault(c.getName(), c.getName()).replaceAll("([a-z0-9])([A-Z])", "$1_$2")
                    .toLowerCase(Locale.ROOT);
            Object other = otherThan(c.getAccessor().invoke(before));
            Map<String, Object> given = new HashMap<>(base);
            given.put(option, other instanceof Enum<?> e ? e.name().toLowerCase(Locale.ROOT) : other);
            if (c.getName().equals("sharedHead")) given.put("shared_head_teacher", true);  // IbotConfig refuses one without the other
            Object after = c.getAccessor().invoke(setup(given).model());
            assertThat(String.valueOf(after)).as("IbotConfig.%s from --%s", c.getName(), option).isEqualTo(String.valueOf(other));
            reached.add(c.getName());
        }
        assertThat(reached).contains("dropPathRate", "lambda1", "koleoLossWeight", "centering", "bf16Autocast");
    }

    /**
     * A value of the same type that differs: halved whole numbers (doubled from 1; halves keep sizes
     * divisible and threads within the CPUs), doubled longs and reals, flipped flags, the next enum constant.
     */
    private static Object otherThan(Object value) {
        return switch (value) {
            case Boolean b -> !b;
            case Integer i -> i > 1 ? i / 2 : 2 * i;
            case Long l -> 2 * l;
            case Double d -> 2 * d;
            case Enum<?> e -> e.getDeclaringClass().getEnumConstants()[(e.ordinal() + 1) % e.getDeclaringClass().getEnumConstants().length];
            default -> throw new AssertionError("no other value for " + value);
        };
    }
}
