package org.ibot4j.trainer.eval.viz;

import java.util.ArrayList;
import java.util.List;

/**
 * PCA of patch features as in DINOv2's figures, over one set of images together: the first principal
 * component, min-max normalised to [0, 1], separates foreground from background (patches above
 * {@code foregroundThreshold}); a second PCA of the foreground patches alone gives three components,
 * each min-max normalised over the foreground and shown as red, green and blue; background is black.
 * The first component's sign is arbitrary, so it is oriented to make the grid's border patches (mostly
 * background in object-centred images) the low side.
 *
 * @param gridHeight patch rows
 * @param gridWidth  patch columns
 * @param first      per image, per patch: the normalised first component, oriented (border low)
 * @param foreground per image, per patch: above the threshold
 * @param rgb        per image, per patch: {r, g, b} in [0, 1], black for background
 */
public record PatchPca(int gridHeight, int gridWidth, float[][] first, boolean[][] foreground, float[][][] rgb) {
    /**
     * @param tokens              per image, per patch (row-major), a feature vector (the backbone's normalised patch tokens)
     * @param foregroundThreshold on the normalised first component, in [0, 1) (DINOv2's figures use about 0.5)
     */
    public static PatchPca of(float[][][] tokens, int gridHeight, int gridWidth, double foregroundThreshold) {
        if (!(foregroundThreshold >= 0 && foregroundThreshold < 1)) {
            throw new IllegalArgumentException("foreground threshold must be in [0, 1), got " + foregroundThreshold);
        }
        int images = tokens.length, patches = gridHeight * gridWidth;
        float[][] all = new float[images * patches][];
        for (int i = 0; i < images; i++) {
            if (tokens[i].length != patches) {
                throw new IllegalArgumentException("image " + i + " has " + tokens[i].length + " patches, the grid " + patches);
            }
            System.arraycopy(tokens[i], 0, all, i * patches, patches);
        }
        double[] c1 = column(Pca.fit(all, 1), all, 0);
        minMax(c1);
        if (borderMean(c1, images, gridHeight, gridWidth) > interiorMean(c1, images, gridHeight, gridWidth)) {
            for (int i = 0; i < c1.length; i++) c1[i] = 1 - c1[i];
        }
        float[][] first = new float[images][patches];
        boolean[][] foreground = new boolean[images][patches];
        List<float[]> fgRows = new ArrayList<>();
        for (int i = 0; i < all.length; i++) {
            first[i / patches][i % patches] = (float) c1[i];
            if (c1[i] > foregroundThreshold) {
                foreground[i / patches][i % patches] = true;
                fgRows.add(all[i]);
            }
        }
        float[][][] rgb = new float[images][patches][3];
        int dims = all[0].length;
        if (fgRows.size() >= 2 && dims >= 3) {
            float[][] fg = fgRows.toArray(new float[0][]);
            Pca second = Pca.fit(fg, 3);
            double[][] channels = new double[3][];
            for (int c = 0; c < 3; c++) {
                channels[c] = column(second, fg, c);
                minMax(channels[c]);
            }
            int f = 0;
            for (int i = 0; i < all.length; i++) {
                if (!foreground[i / patches][i % patches]) continue;
                for (int c = 0; c < 3; c++) rgb[i / patches][i % patches][c] = (float) channels[c][f];
                f++;
            }
        }
        return new PatchPca(gridHeight, gridWidth, first, foreground, rgb);
    }

    private static double[] column(Pca pca, float[][] rows, int component) {
        double[] out = new double[rows.length];
        for (int i = 0; i < rows.length; i++) out[i] = pca.project(rows[i])[component];
        return out;
    }

    /** To [0, 1] in place; a constant column becomes all zeros. */
    static void minMax(double[] v) {
        double lo = Double.POSITIVE_INFINITY, hi = Double.NEGATIVE_INFINITY;
        for (double x : v) {
            lo = Math.min(lo, x);
            hi = Math.max(hi, x);
        }
        double range = hi - lo;
        for (int i = 0; i < v.length; i++) v[i] = range > 0 ? (v[i] - lo) / range : 0;
    }

    private static boolean isBorder(int patch, int gridHeight, int gridWidth) {
        int row = patch / gridWidth, col = patch % gridWidth;
        return row == 0 || col == 0 || row == gridHeight - 1 || col == gridWidth - 1;
    }

    private static double borderMean(double[] v, int images, int gh, int gw) {
        return meanWhere(v, images, gh, gw, true);
    }

    private static double interiorMean(double[] v, int images, int gh, int gw) {
        return meanWhere(v, images, gh, gw, false);
    }

    private static double meanWhere(double[] v, int images, int gh, int gw, boolean border) {
        double sum = 0;
        int count = 0, patches = gh * gw;
        for (int i = 0; i < images * patches; i++) {
            if (isBorder(i % patches, gh, gw) == border) {
                sum += v[i];
                count++;
            }
        }
        return count == 0 ? 0.5 : sum / count;
    }
}
