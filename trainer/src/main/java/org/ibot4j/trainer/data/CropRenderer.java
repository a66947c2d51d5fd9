package org.ibot4j.trainer.data;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * Renders a {@link CropPlan}: the same operations as {@link Augment} (which stays the plain reference),
 * arranged for speed. The crop box is resampled straight from the source (no crop copy) with the flip
 * folded into the horizontal weights; every later step is a loop over whole float planes that the JIT
 * vectorises (the box blur runs down columns, on a transposed copy for the horizontal passes); scratch
 * planes are reused between crops. One instance per thread.
 */
final class CropRenderer {
    private final float[][] planes = new float[3][];
    /**
     * Row buffers, one array per row. C2 (JDK 25) vectorises a loop only when its loads and stores use
     * the same index into arrays it cannot tell apart; separate row arrays indexed by x give it that.
     */
    private float[][] rows, blurA, blurB;
    private float[] line = new float[0], accumulator = new float[0];
    private final ResampleTable horizontal = new ResampleTable(), vertical = new ResampleTable();

    void render(RgbImage image, int denominator, CropPlan plan, float[] mean, float[] std, MemorySegment out, long floatOffset) {
        int size = plan.size(), n = size * size;
        for (int c = 0; c < 3; c++) if (planes[c] == null || planes[c].length < n) planes[c] = new float[n];
        if (image.sharedGrey()) {
            renderGrey(image, denominator, plan, mean, std, out, floatOffset);
            return;
        }
        resize(image, denominator, plan, 3);
        float[] r = planes[0], g = planes[1], b = planes[2];
        if (plan.jitter() != null) jitter(plan.jitter(), r, g, b, n);
        if (plan.grey()) grey(r, g, b, n);
        if (plan.blurRadius() > 0) for (float[] p : planes) gaussianBlur(p, size, size, plan.blurRadius());
        if (plan.solarize()) for (float[] p : planes) solarize(p, n);
        for (int c = 0; c < 3; c++) {
            float[] p = planes[c];
            float m = mean[c], inv = 1f / std[c];
            for (int i = 0; i < n; i++) p[i] = (p[i] - m) * inv;
            MemorySegment.copy(p, 0, out, ValueLayout.JAVA_FLOAT, (floatOffset + (long) c * n) * Float.BYTES, n);
        }
    }

    /**
     * A grey image on one plane: saturation, hue and grey-scale leave equal channels equal (up to float
     * rounding of the luma weights, which sum to 1), brightness, contrast (the luma mean is the plain
     * mean), blur and solarisation act the same on each; only the normalisation differs per channel.
     */
    private void renderGrey(RgbImage image, int denominator, CropPlan plan, float[] mean, float[] std, MemorySegment out, long floatOffset) {
        int size = plan.size(), n = size * size;
        resize(image, denominator, plan, 1);
        float[] v = planes[0], normalised = planes[1];
        if (plan.jitter() != null) {
            for (int op : plan.jitter().order()) {
                if (op == 0) scale(v, n, (float) plan.jitter().brightness());
                else if (op == 1) contrastGrey(v, n, (float) plan.jitter().contrast());
            }
        }
        if (plan.blurRadius() > 0) gaussianBlur(v, size, size, plan.blurRadius());
        if (plan.solarize()) solarize(v, n);
        for (int c = 0; c < 3; c++) {
            float m = mean[c], inv = 1f / std[c];
            for (int i = 0; i < n; i++) normalised[i] = (v[i] - m) * inv;
            MemorySegment.copy(normalised, 0, out, ValueLayout.JAVA_FLOAT, (floatOffset + (long) c * n) * Float.BYTES, n);
        }
    }

    private static void contrastGrey(float[] v, int n, float f) {
        double total = 0;
        for (int start = 0; start < n; start += 1024) {
            float partial = 0;
            int end = Math.min(n, start + 1024);
            for (int i = start; i < end; i++) partial += v[i];
            total += partial;
        }
        float offset = (float) (total / n) * (1 - f);
        for (int i = 0; i < n; i++) v[i] = Math.min(Math.max(offset + f * v[i], 0f), 1f);
    }

    /** PIL's antialiased bicubic resample of the plan's box (in the decode's pixels) to size x size, into {@link #planes}. */
    private void resize(RgbImage image, int denominator, CropPlan plan, int channels) {
        int size = plan.size(), w = image.width();
        double x0 = (double) plan.left() / denominator, x1 = (double) (plan.left() + plan.width()) / denominator;
        double y0 = (double) plan.top() / denominator, y1 = (double) (plan.top() + plan.height()) / denominator;
        horizontal.build(x0, x1, w, size, plan.flip());
        vertical.build(y0, y1, image.height(), size, false);
        int yLo = vertical.lowest(), yHi = vertical.highest();
        int taps = horizontal.taps, vTaps = vertical.taps;
        rows = rowSet(0, yHi - yLo, size);
        if (line.length < size) line = new float[size];
        int[] hStart = horizontal.start, vStart = vertical.start;
        float[] hw = horizontal.weights, vw = vertical.weights, acc = line;
        for (int c = 0; c < channels; c++) {
            float[] in = image.planes()[c], dst = planes[c];
            // Horizontal pass over the rows the vertical taps read.
            for (int y = yLo; y < yHi; y++) horizontalRow(in, y * w, rows[y - yLo], size, hStart, hw, taps);
            // Vertical pass: each output row is a weighted sum of whole rows (vectorised).
            for (int i = 0; i < size; i++) {
                Arrays.fill(acc, 0, size, 0f);
                for (int k = 0; k < vTaps; k++) {
                    float wk = vw[i * vTaps + k];
                    if (wk == 0f) continue;
                    float[] src = rows[vStart[i] + k - yLo];
                    for (int x = 0; x < size; x++) acc[x] += wk * src[x];
                }
                for (int x = 0; x < size; x++) acc[x] = Math.min(Math.max(acc[x], 0f), 1f);
                System.arraycopy(acc, 0, dst, i * size, size);
            }
        }
    }

    private final Map<Long, float[][]> rowSets = new HashMap<>();

    /** At least {@code count} rows of {@code length} floats for buffer {@code kind}, kept per length (global and local crops alternate). */
    private float[][] rowSet(int kind, int count, int length) {
        long key = ((long) kind << 32) | length;
        float[][] set = rowSets.get(key);
        if (set == null || set.length < count) {
            float[][] grown = new float[count][];
            for (int i = 0; i < count; i++) grown[i] = set != null && i < set.length ? set[i] : new float[length];
            rowSets.put(key, grown);
            set = grown;
        }
        return set;
    }

    /** One output row of the horizontal pass: dot products of {@code taps} weights, unrolled for the common tap counts. */
    private static void horizontalRow(float[] in, int rowIn, float[] out, int size, int[] start, float[] w, int taps) {
        int rowOut = 0;
        switch (taps) {
            case 4 -> {
                for (int i = 0; i < size; i++) {
                    int s = rowIn + start[i], k = i * 4;
                    out[rowOut + i] = w[k] * in[s] + w[k + 1] * in[s + 1] + w[k + 2] * in[s + 2] + w[k + 3] * in[s + 3];
                }
            }
            case 6 -> {
                for (int i = 0; i < size; i++) {
                    int s = rowIn + start[i], k = i * 6;
                    out[rowOut + i] = (w[k] * in[s] + w[k + 1] * in[s + 1] + w[k + 2] * in[s + 2])
                            + (w[k + 3] * in[s + 3] + w[k + 4] * in[s + 4] + w[k + 5] * in[s + 5]);
                }
            }
            case 8 -> {
                for (int i = 0; i < size; i++) {
                    int s = rowIn + start[i], k = i * 8;
                    out[rowOut + i] = (w[k] * in[s] + w[k + 1] * in[s + 1] + w[k + 2] * in[s + 2] + w[k + 3] * in[s + 3])
                            + (w[k + 4] * in[s + 4] + w[k + 5] * in[s + 5] + w[k + 6] * in[s + 6] + w[k + 7] * in[s + 7]);
                }
            }
            default -> {
                for (int i = 0; i < size; i++) {
                    int s = rowIn + start[i], k = i * taps;
                    float sum = 0;
                    for (int t = 0; t < taps; t++) sum += w[k + t] * in[s + t];
                    out[rowOut + i] = sum;
                }
            }
        }
    }

    /**
     * PIL's precompute_coeffs for a (fractional) input box, padded to one tap count for all outputs.
     * Taps are clamped to the whole pixels the box touches, as when the box is cropped out first
     * (torchvision's resized_crop) for a box on whole pixels.
     */
    static final class ResampleTable {
        int taps, outputs;
        int[] start = new int[0];
        float[] weights = new float[0];
        private double[] raw = new double[0];

        void build(double in0, double in1, int inSize, int outSize, boolean flip) {
            double scale = (in1 - in0) / outSize, filterScale = Math.max(scale, 1.0), support = 2.0 * filterScale;
            int lo = Math.max(0, (int) Math.floor(in0)), hi = Math.min(inSize, (int) Math.ceil(in1 - 1e-9));
            if (hi <= lo) hi = Math.min(inSize, lo + 1);
            // floor(c + support + 0.5) - floor(c - support + 0.5) <= ceil(2 * support): the most taps an output has.
            int needed = (int) Math.ceil(2 * support);
            // Padded to 4, 6 or 8 (zero weights) where the box is wide enough, for the unrolled loops.
            int padded = needed <= 4 ? 4 : needed <= 6 ? 6 : needed <= 8 ? 8 : needed;
            int maxTaps = padded <= hi - lo ? padded : Math.min(hi - lo, needed);
            if (start.length < outSize) start = new int[outSize];
            if (weights.length < outSize * maxTaps) weights = new float[outSize * maxTaps];
            if (raw.length < maxTaps) raw = new double[maxTaps];
            Arrays.fill(weights, 0, outSize * maxTaps, 0f);
            taps = maxTaps;
            outputs = outSize;
            for (int i = 0; i < outSize; i++) {
                double centre = in0 + (i + 0.5) * scale;
                int min = Math.max((int) (centre - support + 0.5), lo);
                int max = Math.min((int) (centre + support + 0.5), hi);
                if (max <= min) { min = Math.min(Math.max((int) centre, lo), hi - 1); max = min + 1; }
                int count = Math.min(max - min, maxTaps);
                double total = 0;
                for (int k = 0; k < count; k++) {
                    raw[k] = Augment.bicubic((k + min - centre + 0.5) / filterScale);
                    total += raw[k];
                }
                // Read a whole padded window inside [lo, hi) (never past the row), the weights shifted to match.
                int first = Math.max(lo, Math.min(min, hi - maxTaps));
                int slot = flip ? outSize - 1 - i : i;
                start[slot] = first;
                for (int k = 0; k < count; k++) weights[slot * maxTaps + (min - first) + k] = total == 0 ? 0f : (float) (raw[k] / total);
            }
        }

        int lowest() {
            int m = Integer.MAX_VALUE;
            for (int i = 0; i < outputs; i++) m = Math.min(m, start[i]);
            return m;
        }

        int highest() {
            int m = 0;
            for (int i = 0; i < outputs; i++) m = Math.max(m, start[i] + taps);
            return m;
        }
    }

    /** The four adjustments in the plan's order, each a plane loop; contrast reads the mean grey level at its turn. */
    private static void jitter(CropPlan.ColourJitter j, float[] r, float[] g, float[] b, int n) {
        for (int op : j.order()) {
            switch (op) {
                case 0 -> { float f = (float) j.brightness(); scale(r, n, f); scale(g, n, f); scale(b, n, f); }
                case 1 -> contrast(r, g, b, n, (float) j.contrast());
                case 2 -> saturation(r, g, b, n, (float) j.saturation());
                default -> hue(r, g, b, n, (float) j.hue());
            }
        }
    }

    private static void scale(float[] p, int n, float f) {
        for (int i = 0; i < n; i++) p[i] = Math.min(Math.max(p[i] * f, 0f), 1f);
    }

    private static void contrast(float[] r, float[] g, float[] b, int n, float f) {
        double total = 0;
        for (int start = 0; start < n; start += 1024) {
            float partial = 0;
            int end = Math.min(n, start + 1024);
            for (int i = start; i < end; i++) partial += 0.299f * r[i] + 0.587f * g[i] + 0.114f * b[i];
            total += partial;
        }
        float mean = (float) (total / n), offset = mean * (1 - f);
        for (float[] p : new float[][] {r, g, b}) {
            for (int i = 0; i < n; i++) p[i] = Math.min(Math.max(offset + f * p[i], 0f), 1f);
        }
    }

    private static void saturation(float[] r, float[] g, float[] b, int n, float f) {
        float keep = 1 - f;
        for (int i = 0; i < n; i++) {
            float l = keep * (0.299f * r[i] + 0.587f * g[i] + 0.114f * b[i]);
            r[i] = Math.min(Math.max(l + f * r[i], 0f), 1f);
            g[i] = Math.min(Math.max(l + f * g[i], 0f), 1f);
            b[i] = Math.min(Math.max(l + f * b[i], 0f), 1f);
        }
    }

    /**
     * Hue rotation by {@code shift} turns in HSV, without branches on the data: hue from the channel
     * order, then each channel as V - C * clamp(min(k, 4 - k), 0, 1) with k = (n + H') mod 6 (n = 5, 3, 1).
     */
    private static void hue(float[] r, float[] g, float[] b, int n, float shift) {
        float turn = shift * 6f;
        for (int i = 0; i < n; i++) {
            float rv = r[i], gv = g[i], bv = b[i];
            // Plain comparisons, not Math.max/min: the values are finite, no NaN or -0 rules to honour.
            float max = rv > gv ? rv : gv, min = rv < gv ? rv : gv;
            max = bv > max ? bv : max;
            min = bv < min ? bv : min;
            float chroma = max - min;
            if (chroma == 0f) continue;  // grey: no hue to rotate
            float inv = 1f / chroma;
            float h = max == rv ? (gv - bv) * inv : max == gv ? 2f + (bv - rv) * inv : 4f + (rv - gv) * inv;
            h += turn;  // in [-1.6, 5.6]: one wrap puts it in [0, 6)
            h = h < 0f ? h + 6f : h >= 6f ? h - 6f : h;
            r[i] = max - chroma * ramp(5f + h);
            g[i] = max - chroma * ramp(3f + h);
            b[i] = max - chroma * ramp(1f + h);
        }
    }

    /** clamp(min(k, 4 - k), 0, 1) for k mod 6, k in [0, 12). */
    private static float ramp(float k) {
        k = k >= 6f ? k - 6f : k;
        float m = k < 4f - k ? k : 4f - k;
        return m < 0f ? 0f : m > 1f ? 1f : m;
    }

    private static void grey(float[] r, float[] g, float[] b, int n) {
        for (int i = 0; i < n; i++) {
            float l = 0.299f * r[i] + 0.587f * g[i] + 0.114f * b[i];
            r[i] = l;
            g[i] = l;
            b[i] = l;
        }
    }

    private static void solarize(float[] p, int n) {
        for (int i = 0; i < n; i++) p[i] = p[i] * 255f >= 128f ? 1f - p[i] : p[i];
    }

    /**
     * PIL's GaussianBlur: three box blurs each way, of the radius {@link Augment#boxRadius} derives.
     * The horizontal passes run down the columns of a transposed copy, so every pass is a row loop.
     */
    private void gaussianBlur(float[] p, int size, int ignoredHeight, double radius) {
        float box = (float) Augment.boxRadius(radius, 3);
        blurA = rowSet(1, size, size);
        blurB = rowSet(2, size, size);
        if (accumulator.length < size) accumulator = new float[size];
        transposeToRows(p, blurA, size);
        // Three passes ping-pong between the two row sets: A -> B -> A -> B.
        boxColumns(blurA, blurB, size, box);
        boxColumns(blurB, blurA, size, box);
        boxColumns(blurA, blurB, size, box);
        transposeRows(blurB, blurA, size);
        boxColumns(blurA, blurB, size, box);
        boxColumns(blurB, blurA, size, box);
        boxColumns(blurA, blurB, size, box);
        for (int y = 0; y < size; y++) System.arraycopy(blurB[y], 0, p, y * size, size);
    }

    /**
     * One box-blur pass down the columns of a square of rows (PIL's line blur, edges repeated): the
     * 2r + 1 nearest pixels weigh 1 / (2R + 1) each and the next two share the rest, R the fractional radius.
     */
    private void boxColumns(float[][] p, float[][] out, int size, float radius) {
        int r = (int) radius;
        float ww = 1f / (2 * radius + 1), fw = (1f - (2 * r + 1) * ww) / 2;
        float[] acc = accumulator;
        Arrays.fill(acc, 0, size, 0f);
        for (int k = -r; k <= r; k++) {
            float[] row = p[clampIndex(k, size)];
            for (int x = 0; x < size; x++) acc[x] += row[x];
        }
        for (int y = 0; y < size; y++) {
            float[] before = p[clampIndex(y - r - 1, size)], after = p[clampIndex(y + r + 1, size)], leaving = p[clampIndex(y - r, size)];
            float[] o = out[y];
            for (int x = 0; x < size; x++) o[x] = ww * acc[x] + fw * (before[x] + after[x]);
            for (int x = 0; x < size; x++) acc[x] += after[x] - leaving[x];
        }
    }

    private static int clampIndex(int i, int size) {
        return i < 0 ? 0 : i >= size ? size - 1 : i;
    }

    /** {@code dst[x][y] = src[y * size + x]}, in 8 x 8 tiles. */
    private static void transposeToRows(float[] src, float[][] dst, int size) {
        int s8 = size - size % 8;
        for (int y0 = 0; y0 < s8; y0 += 8) {
            for (int x = 0; x < size; x++) {
                float[] d = dst[x];
                int s0 = y0 * size + x;
                for (int k = 0; k < 8; k++) d[y0 + k] = src[s0 + k * size];
            }
        }
        for (int y = s8; y < size; y++) for (int x = 0; x < size; x++) dst[x][y] = src[y * size + x];
    }

    /** {@code dst[x][y] = src[y][x]}. */
    private static void transposeRows(float[][] src, float[][] dst, int size) {
        int s8 = size - size % 8;
        for (int y0 = 0; y0 < s8; y0 += 8) {
            for (int x = 0; x < size; x++) {
                float[] d = dst[x];
                for (int k = 0; k < 8; k++) d[y0 + k] = src[y0 + k][x];
            }
        }
        for (int y = s8; y < size; y++) for (int x = 0; x < size; x++) dst[x][y] = src[y][x];
    }
}
