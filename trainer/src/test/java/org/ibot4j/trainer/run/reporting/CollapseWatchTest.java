package org.ibot4j.trainer.run.reporting;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.ibot4j.api.StepResult;
import org.junit.jupiter.api.Test;

class CollapseWatchTest {
    private static final int K = 1024;

    private static StepResult step(double clsEntropy, int prototypes) {
        return new StepResult(7, 6.9, 0.1, 1, true, 1, 0, clsEntropy, 3.0, prototypes, 4.2, 0, 0);
    }

    @Test
    void uniformTargetsWarnOnceAfterThePatienceAndAgainAfterARecovery() {
        CollapseWatch watch = new CollapseWatch(K, 128, 5);
        List<String> warnings = new ArrayList<>();
        double uniform = Math.log(K) - 0.01, healthy = 2.0;
        for (int i = 0; i < 20; i++) watch.observe(i, step(i < 3 || i >= 12 ? healthy : uniform, 40)).ifPresent(warnings::add);
        assertThat(warnings).hasSize(1);
        assertThat(warnings.getFirst()).contains("uniform for 5 steps (iterations 3 to 7)").contains("entropy 6.921 of ln(1024) = 6.931")
                .contains("--teacher_temp").contains("--centering sinkhorn_knopp").contains("--koleo_loss_weight");
        for (int i = 20; i < 30; i++) watch.observe(i, step(uniform, 40)).ifPresent(warnings::add);
        assertThat(warnings).hasSize(2);
        assertThat(warnings.getLast()).contains("iterations 20 to 24");
    }

    /** New heads on a frozen backbone start near uniform by construction: the warm-up neither warns nor counts. */
    @Test
    void theHeadWarmupIsNotCollapseAndItsStepsDoNotCountTowardsThePatience() {
        CollapseWatch watch = new CollapseWatch(K, 128, 5).warmupUntil(10);
        double uniform = Math.log(K) - 0.01;
        List<String> warnings = new ArrayList<>();
        for (int i = 0; i < 14; i++) watch.observe(i, step(uniform, 40)).ifPresent(warnings::add);
        assertThat(watch.inWarmup(9)).isTrue();
        assertThat(watch.inWarmup(10)).isFalse();
        assertThat(warnings).isEmpty();
        watch.observe(14, step(uniform, 40)).ifPresent(warnings::add);
        assertThat(warnings).singleElement().satisfies(w -> assertThat(w).contains("uniform for 5 steps (iterations 10 to 14)"));
    }

    @Test
    void onePrototypeIsItsOwnConditionAndSkippedStepsDoNotCount() {
        CollapseWatch watch = new CollapseWatch(K, 128, 3);
        assertThat(watch.observe(0, step(0.01, 1))).isEmpty();
        assertThat(watch.observe(1, new StepResult(Double.NaN, Double.NaN, Double.NaN, 0, false, 1, 0, 0.01, 0, 1, 1, 0, 0))).isEmpty();
        assertThat(watch.observe(2, step(0.01, 1))).isEmpty();
        Optional<String> warning = watch.observe(3, step(0.01, 1));
        assertThat(warning).hasValueSatisfying(w -> assertThat(w).contains("one prototype for 4 steps (iterations 0 to 3)")
                .contains("effective rank 4.20").contains("--centering sinkhorn_knopp"));
        // Two prototypes in use is not the condition, however low the entropy.
        assertThat(CollapseWatch.State.of(0.01, 2, K)).isEqualTo(CollapseWatch.State.HEALTHY);
        assertThat(CollapseWatch.State.of(Double.NaN, Double.NaN, K)).isEqualTo(CollapseWatch.State.HEALTHY);
    }

    @Test
    void aRunWithTheRemediesIsToldOnlyTheLeversLeftAndThatSinkhornKnoppTargetsAreFlat() {
        CollapseWatch watch = new CollapseWatch(K, 128, 2, true, true);
        watch.observe(0, step(6.7, 90));
        Optional<String> warning = watch.observe(1, step(6.7, 90));
        assertThat(warning).hasValueSatisfying(w -> assertThat(w).contains("uniform for 2 steps")
                .contains("128 crops spread over 1024 prototypes").contains("effective rank (4.2 now)")
                .contains("by construction").satisfies(all -> assertThat(levers(all)).contains("--teacher_temp")
                        .doesNotContain("--centering sinkhorn_knopp").doesNotContain("--koleo_loss_weight")));
        CollapseWatch koleoOnly = new CollapseWatch(K, 128, 1, false, true);
        assertThat(koleoOnly.observe(0, step(0.01, 1))).hasValueSatisfying(w -> assertThat(levers(w))
                .contains("--centering sinkhorn_knopp").doesNotContain("--koleo_loss_weight"));
        assertThat(new CollapseWatch(K, 128, 1).observe(0, step(6.9, 90))).hasValueSatisfying(w -> assertThat(w)
                .doesNotContain("by construction"));
    }

    /** The part of a warning that suggests what to change. */
    private static String levers(String warning) {
        int at = warning.indexOf("Likely levers:");
        assertThat(at).as("a warning names its levers: %s", warning).isNotNegative();
        return warning.substring(at);
    }

    @Test
    void theShareCountsAgainstWhatABatchCanUse() {
        assertThat(new CollapseWatch(K, 128, 5).prototypeShare(step(2, 64))).isEqualTo(0.5);
        assertThat(new CollapseWatch(64, 128, 5).prototypeShare(step(2, 64))).isEqualTo(1.0);
        assertThat(new CollapseWatch(K, 128, 5).status(step(6.9, 32))).isEqualTo("H 6.90/6.93, proto 25%, rank 4.2");
    }

    @Test
    void stretchesAreTheRunsOfOneKind() {
        double[] it = {0, 1, 2, 3, 4, 5, 6, 7};
        double u = Math.log(K), h = 1;
        double[] entropy = {h, u, u, u, h, 0.1, 0.1, u};
        double[] used = {9, 9, 9, 9, 9, 1, 1, 9};
        List<long[]> all = CollapseWatch.stretches(it, entropy, used, K, 1);
        assertThat(all).extracting(s -> s[0] + "-" + s[1] + ":" + CollapseWatch.State.values()[(int) s[2]])
                .containsExactly("1-3:UNIFORM", "5-6:ONE_PROTOTYPE", "7-7:UNIFORM");
        assertThat(CollapseWatch.stretches(it, entropy, used, K, 3)).hasSize(1);
    }
}
