package org.ibot4j.trainer.eval.viz;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.data.Offset.offset;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The mask rule of official visualize_attention.py, worked by hand and checked on random maps. */
class AttentionMapTest {
    @Test
    void keepsTheFewestStrongestPatchesHoldingTheShare() {
        // [CLS] first (dropped), then a 2 x 2 grid; patch shares 0.1, 0.4, 0.2, 0.3 after renormalising.
        float[] row = {0.5f, 0.05f, 0.2f, 0.1f, 0.15f};
        // Ascending: 0.1, 0.2, 0.3, 0.4 with cumulative 0.1, 0.3, 0.6, 1.0; kept where it passes 1 - 0.6 = 0.4.
        AttentionMap map = AttentionMap.of(row, 2, 2, 0.6);
        assertThat(map.attention()).containsExactly(0.05f, 0.2f, 0.1f, 0.15f);
        assertThat(map.kept()).containsExactly(false, true, false, true);
        assertThat(map.keptShare()).isCloseTo(0.7, offset(1e-6));
        assertThat(AttentionMap.of(row, 2, 2, 0.95).kept()).containsExactly(true, true, true, true);
        assertThat(AttentionMap.of(row, 2, 2, 0.35).kept()).containsExactly(false, true, false, false);
    }

    @Test
    void theKeptShareIsAtLeastTheThresholdAndMinimal() {
        SplittableRandom random = new SplittableRandom(5);
        for (int trial = 0; trial < 50; trial++) {
            float[] row = new float[1 + 64];
            for (int i = 0; i < row.length; i++) row[i] = (float) Math.exp(3 * random.nextGaussian());
            double threshold = 0.1 + 0.85 * random.nextDouble();
            AttentionMap map = AttentionMap.of(row, 8, 8, threshold);
            assertThat(map.keptShare()).isGreaterThanOrEqualTo(threshold - 1e-6);
            // Dropping the weakest kept patch would fall below the share: no smaller set of the strongest does it.
            double weakestKept = Double.MAX_VALUE, total = 0;
            for (int i = 0; i < 64; i++) {
                total += map.attention()[i];
                if (map.kept()[i]) weakestKept = Math.min(weakestKept, map.attention()[i]);
            }
            assertThat(map.keptShare() - weakestKept / total).isLessThan(threshold + 1e-6);
        }
    }

    @Test
    void refusesRowsOfTheWrongLengthAndBadThresholds() {
        assertThatThrownBy(() -> AttentionMap.of(new float[4], 2, 2, 0.6)).hasMessageContaining("needs 5 attention values");
        assertThatThrownBy(() -> AttentionMap.of(new float[5], 2, 2, 0)).hasMessageContaining("threshold");
        assertThatThrownBy(() -> AttentionMap.of(new float[5], 2, 2, 1.2)).hasMessageContaining("threshold");
    }
}
