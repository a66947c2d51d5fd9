package org.ibot4j.trainer.schedule;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class CosineScheduleTest {
    @Test
    void warmupThenCosineMatchesHandComputedValues() {
        // linspace(0, 1, 2) = [0, 1]; then 0.5 * (1 + cos(pi * i / 3)) for i = 0, 1, 2.
        CosineSchedule s = new CosineSchedule(1.0, 0.0, 5, 2, 0.0);
        double[] expected = {0.0, 1.0, 1.0, 0.75, 0.25};
        for (int i = 0; i < expected.length; i++) assertThat(s.at(i)).isCloseTo(expected[i], within(1e-12));
    }

    @Test
    void officialLearningRateAtBatch1024() {
        // lr 5e-4 * 1024 / 256 = 2e-3 peak; 10 warm-up epochs of 1251 iterations, 800 epochs in all.
        long perEpoch = 1251, total = 800 * perEpoch, warmup = 10 * perEpoch;
        CosineSchedule lr = new CosineSchedule(5e-4 * 1024 / 256, 1e-6, total, warmup, 0);
        assertThat(lr.at(0)).isEqualTo(0.0);
        assertThat(lr.at(warmup - 1)).isCloseTo(2e-3, within(1e-15));
        assertThat(lr.at(warmup)).isCloseTo(2e-3, within(1e-15));
        assertThat(lr.at(total - 1)).isCloseTo(1e-6, within(1e-9));
        long mid = warmup + (total - warmup) / 2;
        assertThat(lr.at(mid)).isCloseTo((2e-3 + 1e-6) / 2, within(1e-9));
    }

    @Test
    void teacherTemperatureWarmsUpPerEpoch() {
        TeacherTemperature t = new TeacherTemperature(0.04, 0.07, 30, 0);
        assertThat(t.at(0)).isEqualTo(0.04);
        assertThat(t.at(1)).isCloseTo(0.04 + 0.03 / 29, within(1e-15));
        assertThat(t.at(29)).isCloseTo(0.07, within(1e-15));
        assertThat(t.at(500)).isEqualTo(0.07);
        TeacherTemperature held = new TeacherTemperature(0.04, 0.07, 30, 50);
        assertThat(held.at(49)).isEqualTo(0.04);
        assertThat(held.at(51)).isCloseTo(0.04 + 0.03 / 29, within(1e-15));
    }
}
