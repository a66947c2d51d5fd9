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
        return resizeCrop(planes, width, height, outWidth, outHeight, 0, 0, outWidth, outHeight);
    }

    /**
     * The {@code cropWidth x cropHeight} window at ({@code left}, {@code top}) of the image resized to
     * {@code outWidth x outHeight}, computing only that window: the same values as resizing whole and
     * cropping, in memory bounded by the window and the input (a 1 x 1,000,000 image resized to a shorter
     * side of 224 would otherwise need 224,000,000 floats a plane).
     */
    public static float[][] resizeCrop(float[][] planes, int width, int height, int outWidth, int outHeight, int left, int top, int cropWidth,
            int cropHeight) {
        if (left < 0 || top < 0 || cropWidth <= 0 || cropHeight <= 0 || (long) left + cropWidth > outWidth || (long) top + cropHeight > outHeight) {
            throw new IllegalArgumentException("window " + cropWidth + " x " + cropHeight + " at (" + left + ", " + top + ") is not inside the "
                    + outWidth + " x " + outHeight + " output");
        }
        Filter fx = new Filter(width, outWidth, left, cropWidth), fy = new Filter(height, outHeight, top, cropHeight);
        float[][] out = new float[planes.length][];
        for (int c = 0; c < planes.length; c++) {
            out[c] = c > 0 && planes[c] == planes[c - 1] ? out[c - 1].clone() : resizePlane(planes[c], width, fx, fy);
        }
        return out;
    }

    private static float[] resizePlane(float[] in, int width, Filter fx, Filter fy) {
        // Only the input rows the window's vertical taps read are resized horizontally.
        int firstRow = fy.start[0], lastRow = fy.start[fy.size() - 1] + fy.count[fy.size() - 1];
        for (int y = 0; y < fy.size(); y++) {
            firstRow = Math.min(firstRow, fy.start[y]);
            lastRow = Math.max(lastRow, fy.start[y] + fy.count[y]);
        }
        int cols = fx.size(), rows = Math.max(0, lastRow - firstRow);
        float[] horizontal = new float[Math.multiplyExact(cols, rows)];
        for (int y = firstRow; y < lastRow; y++) {
            long rowStart = (long) y * width;
            for (int x = 0; x < cols; x++) {
                double sum = 0;
                for (int k = 0; k < fx.count[x]; k++) sum += fx.weights[x][k] * in[(int) (rowStart + fx.start[x] + k)];
                horizontal[(y - firstRow) * cols + x] = (float) sum;
            }
        }
        float[] out = new float[Math.multiplyExact(cols, fy.size())];
        for (int y = 0; y < fy.size(); y++) {
            for (int x = 0; x < cols; x++) {
                double sum = 0;
                for (int k = 0; k < fy.count[y]; k++) sum += fy.weights[y][k] * horizontal[(fy.start[y] + k - firstRow) * cols + x];
                out[y * cols + x] = clamp((float) sum);
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

    /**
     * Per output index of the window {@code [first, first + length)}: first input index, tap count and
     * normalised weights (PIL's precompute_coeffs for an output of {@code outSize}).
     */
    private static final class Filter {
        final int[] start, count;
        final double[][] weights;

        Filter(int inSize, int outSize, int first, int length) {
            double scale = (double) inSize / outSize;
            double filterScale = Math.max(scale, 1.0);
            double support = 2.0 * filterScale;
            start = new int[length];
            count = new int[length];
            weights = new double[length][];
            for (int i = 0; i < length; i++) {
                double centre = (i + first + 0.5) * scale;
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

        int size() {
            return start.length;
        }
    }
}
