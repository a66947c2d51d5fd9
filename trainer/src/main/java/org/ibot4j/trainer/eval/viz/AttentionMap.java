package org.ibot4j.trainer.eval.viz;

import java.util.Arrays;

/**
 * One head's [CLS] attention over the patch grid and the mask of official visualize_attention.py:
 * the patches sorted by attention, renormalised over the patches, and kept from where the cumulative
 * share of the smaller ones passes {@code 1 - threshold}, so the kept patches are the fewest
 * high-attention ones holding at least {@code threshold} of the attention mass.
 *
 * @param gridHeight patch rows
 * @param gridWidth  patch columns
 * @param attention  the [CLS] query's attention to each patch, row-major (the [CLS] column dropped)
 * @param kept       the thresholded mask, row-major
 */
public record AttentionMap(int gridHeight, int gridWidth, float[] attention, boolean[] kept) {
    /**
     * @param clsRow    the [CLS] query's probabilities over {@code 1 + gridHeight * gridWidth} tokens, [CLS] first
     * @param threshold share of the attention mass kept, in (0, 1]
     */
    public static AttentionMap of(float[] clsRow, int gridHeight, int gridWidth, double threshold) {
        int n = gridHeight * gridWidth;
        if (clsRow.length != n + 1) {
            throw new IllegalArgumentException("a " + gridHeight + "x" + gridWidth + " grid needs " + (n + 1) + " attention values, got " + clsRow.length);
        }
        if (!(threshold > 0 && threshold <= 1)) throw new IllegalArgumentException("threshold must be in (0, 1], got " + threshold);
        float[] attention = Arrays.copyOfRange(clsRow, 1, n + 1);
        double total = 0;
        for (float v : attention) total += v;
        Integer[] ascending = new Integer[n];
        for (int i = 0; i < n; i++) ascending[i] = i;
        Arrays.sort(ascending, (a, b) -> Float.compare(attention[a], attention[b]));
        boolean[] kept = new boolean[n];
        double cumulative = 0;
        for (int i : ascending) {
            cumulative += attention[i] / total;
            kept[i] = cumulative > 1 - threshold;
        }
        return new AttentionMap(gridHeight, gridWidth, attention, kept);
    }

    /** The share of this head's patch attention inside the mask. */
    public double keptShare() {
        double inside = 0, total = 0;
        for (int i = 0; i < attention.length; i++) {
            total += attention[i];
            if (kept[i]) inside += attention[i];
        }
        return inside / total;
    }

    /** How many patches the mask keeps. */
    public int keptCount() {
        int count = 0;
        for (boolean k : kept) if (k) count++;
        return count;
    }
}
