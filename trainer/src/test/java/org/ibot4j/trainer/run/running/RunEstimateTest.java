package org.ibot4j.trainer.run.running;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class RunEstimateTest {
    @Test
    void epochAndRemainingTimeFollowFromTheMeasuredStep() {
        // 3 s a step: 937 steps = 2,811 s = 47 min; 7,000 steps = 21,000 s = 5.8 h.
        assertThat(RunEstimate.describe(3.0, 937, 7000, 3L << 30))
                .isEqualTo("measured 3.00 s a step: an epoch of 937 steps takes about 47 min, the 7000 steps left about 5.8 h; "
                        + "peak resident memory so far 3.0 GiB");
        assertThat(RunEstimate.duration(45)).isEqualTo("45 s");
        assertThat(RunEstimate.duration(3 * 86400)).isEqualTo("3.0 days");
    }

    @Test
    void theEstimateIsTheMedianOfFiveStepsAfterTheTwoWarmUpSteps() {
        // The demo's first steps (metrics.jsonl, 2026-12-02): 0.82 and 1.04 s of warm-up, then ~0.44 s.
        double[] steps = {0.82, 1.04, 0.45, 0.44, 3.0, 0.44, 0.43, 0.43};
        RunEstimate estimate = new RunEstimate(0, 896, 112);
        List<String> said = new ArrayList<>();
        for (int i = 0; i < steps.length; i++) estimate.estimate(i, steps[i]).ifPresent(said::add);
        // Said once, after step 6 (five samples: 0.45 0.44 3.0 0.44 0.43, median 0.44; the 3 s hiccup is ignored).
        assertThat(said).hasSize(1);
        assertThat(said.get(0)).startsWith("measured 0.44 s a step: an epoch of 112 steps takes about 49 s, the 889 steps left about 7 min");
    }

    @Test
    void aSlowConfigurationIsToldWithinAMinuteAndAShortRunBeforeItEnds() {
        RunEstimate slow = new RunEstimate(0, 1000, 100);
        assertThat(slow.estimate(0, 40)).isEmpty();
        assertThat(slow.estimate(1, 40)).isEmpty();
        assertThat(slow.estimate(2, 30)).hasValueSatisfying(s -> assertThat(s).startsWith("measured 30.00 s a step"));
        RunEstimate resumed = new RunEstimate(10, 14, 100);
        List<String> said = new ArrayList<>();
        for (int i = 10; i < 14; i++) resumed.estimate(i, 0.1).ifPresent(said::add);
        assertThat(said).hasSize(1).allSatisfy(s -> assertThat(s).contains("the 0 steps left"));
    }

    @Test
    void peakResidentMemoryIsReadFromTheSystem() {
        long peak = RunEstimate.peakResidentBytes();
        // This JVM holds at least its heap in use; on Linux the figure is known.
        assertThat(peak).isGreaterThan(Runtime.getRuntime().totalMemory() - Runtime.getRuntime().freeMemory());
    }
}
