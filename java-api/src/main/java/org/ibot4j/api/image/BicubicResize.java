package org.ibot4j.api.image;

/**
 * PIL's bicubic resize (a = -0.5), antialiased when shrinking: a separable filter whose support widens
 * with the scale. The evaluation view and the trainer's augmentation both resize with it, so features
 * computed anywhere in ibot4j see the same pixels.
 */
public final class BicubicResize {
    private BicubicResize() {}

    /**
     * The planes of a {@code width x height} image resized to {@code outWidth x outHeight}, as new arrays
     * (a grey image's shared plane is resized once and copied, so callers may change each plane).
     */
    public static float[][] resize(float[][] planes, int width, int height, int outWidth, int outHeight) {
        Filter fx = new Filter(width, outWidth), fy = new Filter(height, outHeight);
        float[][] out = new float[planes.length][];
        for (int c = 0; c < planes.length; c++) {
            out[c] = c > 0 && planes[c] == planes[c - 1] ? out[c - 1].clone()
                    : resizePlane(planes[c], width, height, outWidth, outHeight, fx, fy);
        }
        return out;
    }

    private static float[] resizePlane(float[] in, int width, int height, int outWidth, int outHeight, Filter fx, Filter fy) {
        float[] horizontal = new float[outWidth * height];
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < outWidth; x++) {
                double sum = 0;
                for (int k = 0; k < fx.count[x]; k++) sum += fx.weights[x][k] * in[y * width + fx.start[x] + k];
                horizontal[y * outWidth + x] = (float) sum;
            }
        }
        float[] out = new float[outWidth * outHeight];
        for (int y = 0; y < outHeight; y++) {
            for (int x = 0; x < outWidth; x++) {
                double sum = 0;
                for (int k = 0; k < fy.count[y]; k++) sum += fy.weights[y][k] * horizontal[(fy.start[y] + k) * outWidth + x];
                out[y * outWidth + x] = clamp((float) sum);
            }
        }
        return out;
    }

    /** PIL's bicubic kernel (a = -0.5). */
    public static double kernel(double x) {
        double a = -0.5;
        x = Math.abs(x);
        if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
        if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
        return 0;
    }

    private static float clamp(float v) {
        return v < 0f ? 0f : (v > 1f ? 1f : v);
    }

    /** Per output index: first input index, tap count and normalised weights (PIL's precompute_coeffs). */
    private static final class Filter {
        final int[] start, count;
        final double[][] weights;

        Filter(int inSize, int outSize) {
            double scale = (double) inSize / outSize;
            double filterScale = Math.max(scale, 1.0);
            double support = 2.0 * filterScale;
            start = new int[outSize];
            count = new int[outSize];
            weights = new double[outSize][];
            for (int i = 0; i < outSize; i++) {
                double centre = (i + 0.5) * scale;
                int min = Math.max((int) (centre - support + 0.5), 0);
                int max = Math.min((int) (centre + support + 0.5), inSize);
                double[] w = new double[max - min];
                double total = 0;
                for (int k = 0; k < w.length; k++) {
                    w[k] = kernel((k + min - centre + 0.5) / filterScale);
                    total += w[k];
                }
                for (int k = 0; k < w.length; k++) w[k] = total == 0 ? 0 : w[k] / total;
                start[i] = min;
                count[i] = w.length;
                weights[i] = w;
            }
        }
    }
}
