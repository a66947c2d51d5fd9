package org.ibot4j.trainer.data;

import java.util.SplittableRandom;

/**
 * The per-crop masking ratio of iBOT: {@code pred_ratio} values with matching {@code pred_ratio_var};
 * each entry draws U(m - v, m + v) (or m when v is 0) and one entry is picked uniformly. The published
 * setting [0, 0.3] / [0, 0.2] leaves half the crops unmasked.
 */
public record MaskRatio(double[] predRatio, double[] predRatioVar) {
    public MaskRatio {
        if (predRatio.length == 0 || predRatio.length != predRatioVar.length) {
            throw new IllegalArgumentException("pred_ratio and pred_ratio_var need the same, non-zero number of values");
        }
        for (int i = 0; i < predRatio.length; i++) {
            if (predRatio[i] - predRatioVar[i] < 0 || predRatio[i] + predRatioVar[i] > 1 || predRatioVar[i] < 0) {
                throw new IllegalArgumentException("pred_ratio " + predRatio[i] + " +- " + predRatioVar[i] + " leaves [0, 1]");
            }
        }
    }

    public static MaskRatio published() {
        return new MaskRatio(new double[] {0.0, 0.3}, new double[] {0.0, 0.2});
    }

    public double draw(SplittableRandom random) {
        double[] candidates = new double[predRatio.length];
        for (int i = 0; i < predRatio.length; i++) {
            double m = predRatio[i], v = predRatioVar[i];
            candidates[i] = v > 0 ? (m - v) + 2 * v * random.nextDouble() : m;
        }
        return candidates.length == 1 ? candidates[0] : candidates[random.nextInt(candidates.length)];
    }
}
