package org.ibot4j.trainer.data;

import java.util.Arrays;
import java.util.SplittableRandom;

/** Which patches of a global crop are masked: shape, ratio distribution and pred_start_epoch. */
public record MaskingPolicy(BlockMaskGenerator generator, MaskRatio ratio, int predStartEpoch) {
    public static MaskingPolicy published() {
        return new MaskingPolicy(BlockMaskGenerator.official(), MaskRatio.published(), 0);
    }

    /** Fills {@code mask} for one crop; before pred_start_epoch nothing is masked (no ratio is drawn). */
    public void fill(boolean[] mask, int grid, int epoch, SplittableRandom random) {
        if (epoch < predStartEpoch) {
            Arrays.fill(mask, false);
            return;
        }
        generator.generate(mask, grid, grid, ratio.draw(random), random);
    }
}
