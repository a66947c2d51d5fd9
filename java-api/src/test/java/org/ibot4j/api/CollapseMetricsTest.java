package org.ibot4j.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.lang.foreign.Arena;
import org.junit.jupiter.api.Test;

/**
 * The collapse metrics and the opt-in remedies on real images (Fashion-MNIST, {@link TinyModels}); their
 * values against the PyTorch reference are checked in {@link ParityTest}.
 */
class CollapseMetricsTest {
    private static final int CROPS = TinyModels.BATCH * TinyModels.N_GLOBAL;

    private static StepResult firstStep(IbotConfig config, double teacherTemp) {
        try (Arena arena = Arena.ofConfined(); IbotModel model = IbotModel.create(config)) {
            return model.trainStep(TinyModels.fixedBatch(arena, config), new StepParams(1e-3, 0.04, 0.996, teacherTemp, teacherTemp, false, 3.0));
        }
    }

    @Test
    void aVeryHotTeacherGivesUniformTargetsAndACoolOneDoesNot() {
        IbotConfig config = TinyModels.config(3);
        double lnK = Math.log(config.outDim());
        StepResult hot = firstStep(config, 1e4), cool = firstStep(config, 0.01);
        assertThat(hot.teacherClsEntropy()).isCloseTo(lnK, within(1e-4));
        assertThat(hot.teacherPatchEntropy()).isCloseTo(lnK, within(1e-4));
        assertThat(cool.teacherClsEntropy()).isLessThan(0.9 * lnK);
        for (StepResult r : new StepResult[] {hot, cool}) {
            assertThat(r.prototypesUsed()).isBetween(1, CROPS);
            // The teacher's [CLS] tokens are the same in both (same weights, same images): so is their rank.
            assertThat(r.effectiveRank()).isBetween(1.0, (double) CROPS).isCloseTo(hot.effectiveRank(), within(1e-9));
            assertThat(r.koleoLoss()).isZero();
        }
    }

    @Test
    void koleoIsAddedToTheLossInProportionToItsWeight() {
        IbotConfig base = TinyModels.config(5);
        StepResult off = firstStep(base, 0.04);
        StepResult one = firstStep(base.toBuilder().koleoLossWeight(0.1).build(), 0.04);
        StepResult two = firstStep(base.toBuilder().koleoLossWeight(0.2).build(), 0.04);
        assertThat(one.koleoLoss()).isPositive();
        assertThat(two.koleoLoss()).isCloseTo(2 * one.koleoLoss(), within(1e-6 * one.koleoLoss()));
        assertThat(one.loss()).isCloseTo(one.clsLoss() + one.patchLoss() + one.koleoLoss(), within(1e-6));
        // The student's forward pass is the same: KoLeo only adds a term.
        assertThat(one.clsLoss()).isEqualTo(off.clsLoss());
        assertThat(one.patchLoss()).isEqualTo(off.patchLoss());
    }

    @Test
    void sinkhornKnoppLeavesTheCentresAloneAndTheOfficialCenteringMovesThem() {
        for (Centering centering : Centering.values()) {
            IbotConfig config = TinyModels.config(7).toBuilder().centering(centering).build();
            try (Arena arena = Arena.ofConfined(); IbotModel model = IbotModel.create(config)) {
                StepResult r = model.trainStep(TinyModels.fixedBatch(arena, config), TinyModels.params(0.996));
                assertThat(r.finite()).isTrue();
                float max = 0;
                for (float v : model.readTensor("loss.center")) max = Math.max(max, Math.abs(v));
                if (centering == Centering.SINKHORN_KNOPP) assertThat(max).as("centre under %s", centering).isZero();
                else assertThat(max).as("centre under %s", centering).isPositive();
            }
        }
    }

    @Test
    void badRemedyOptionsAreRefusedWithTheValue() {
        assertThatThrownBy(() -> TinyModels.config(1).toBuilder().koleoLossWeight(-0.5).build())
                .isInstanceOf(InvalidConfigException.class).hasMessageContaining("koleo_loss_weight must be >= 0, got -0.5");
        assertThat(Centering.of("Sinkhorn_Knopp")).isEqualTo(Centering.SINKHORN_KNOPP);
        assertThatThrownBy(() -> Centering.of("sk")).hasMessageContaining("unknown centering 'sk' (known: centering, sinkhorn_knopp)");
        IbotConfig koleo = TinyModels.config(1).toBuilder().koleoLossWeight(0.1).build();
        try (Arena arena = Arena.ofConfined(); IbotModel model = IbotModel.create(koleo)) {
            TrainBatch one = TrainBatch.allocate(arena, koleo, 1, 2, 0, 32, 16);
            assertThatThrownBy(() -> model.trainStep(one, TinyModels.params(0.996))).isInstanceOf(Ibot4jException.class)
                    .hasMessageContaining("koleo_loss_weight > 0 needs at least 2 images per step").hasMessageContaining("got batch_size 1");
        }
    }
}
