package org.ibot4j.trainer.run;

import static org.assertj.core.api.Assertions.assertThat;

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
    void peakResidentMemoryIsReadFromTheSystem() {
        long peak = RunEstimate.peakResidentBytes();
        // This JVM holds at least its heap in use; on Linux the figure is known.
        assertThat(peak).isGreaterThan(Runtime.getRuntime().totalMemory() - Runtime.getRuntime().freeMemory());
    }
}
