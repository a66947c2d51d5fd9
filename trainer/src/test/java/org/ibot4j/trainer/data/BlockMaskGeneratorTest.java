package org.ibot4j.trainer.data;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class BlockMaskGeneratorTest {
    @Test
    void blockMasksNeverExceedTheTargetAndComeClose() {
        BlockMaskGenerator gen = BlockMaskGenerator.official();
        SplittableRandom random = new SplittableRandom(1);
        boolean[] mask = new boolean[14 * 14];
        double sumFraction = 0;
        int draws = 10_000;
        for (int i = 0; i < draws; i++) {
            int count = gen.generate(mask, 14, 14, 0.3, random);
            int set = 0;
            for (boolean m : mask) if (m) set++;
            assertThat(set).isEqualTo(count);
            assertThat(count).isLessThanOrEqualTo((int) Math.floor(0.3 * 196));
            sumFraction += count / 196.0;
        }
        // The generator may stop short of 58.8 cells, but not by much on average.
        assertThat(sumFraction / draws).isBetween(0.25, 0.3);
    }

    @Test
    void publishedRatiosMaskHalfTheCropsAtAboutFifteenPercent() {
        BlockMaskGenerator gen = BlockMaskGenerator.official();
        MaskRatio ratio = MaskRatio.published();
        SplittableRandom random = new SplittableRandom(2);
        boolean[] mask = new boolean[196];
        int draws = 10_000, unmasked = 0;
        double sum = 0, sumSq = 0;
        for (int i = 0; i < draws; i++) {
            double f = gen.generate(mask, 14, 14, ratio.draw(random), random) / 196.0;
            if (f == 0) unmasked++;
            sum += f;
            sumSq += f * f;
        }
        double mean = sum / draws, sd = Math.sqrt(sumSq / draws - mean * mean);
        assertThat(unmasked / (double) draws).isBetween(0.48, 0.52);
        // Target mean 0.5 * 0.3 = 0.15; blocks fall slightly short. Spread of a 0/U(0.1,0.5) mixture: ~0.16.
        assertThat(mean).isBetween(0.13, 0.155);
        assertThat(sd).isBetween(0.13, 0.18);
    }

    @Test
    void randomShapeMasksExactlyTheFloorOfTheTarget() {
        BlockMaskGenerator gen = new BlockMaskGenerator(BlockMaskGenerator.Shape.RAND, 0.3, 1 / 0.3);
        boolean[] mask = new boolean[36];
        assertThat(gen.generate(mask, 6, 6, 0.5, new SplittableRandom(3))).isEqualTo(18);
        assertThat(gen.generate(mask, 6, 6, 0.0, new SplittableRandom(3))).isZero();
        for (boolean m : mask) assertThat(m).isFalse();
    }
}
