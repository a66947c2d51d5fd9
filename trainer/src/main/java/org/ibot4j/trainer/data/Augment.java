package org.ibot4j.trainer.data;

import java.util.SplittableRandom;
import org.ibot4j.api.image.BicubicResize;

/**
 * The image operations of iBOT's augmentation, on float images in [0, 1], following torchvision and
 * PIL: random-resized-crop parameters, PIL-style antialiased bicubic resize, flip, colour jitter
 * (brightness, contrast, saturation, hue in random order), grey-scale with ITU-R 601 luma, Gaussian
 * blur, solarisation at 128/255. Results stay in float (PIL would round to 8 bits after each step).
 */
public final class Augment {
    private Augment() {}

    /** torchvision RandomResizedCrop.get_params: {top, left, height, width} of the crop box. */
    public static int[] randomResizedCropBox(int height, int width, double scaleMin, double scaleMax, double ratioMin,
            double ratioMax, SplittableRandom random) {
        double area = (double) height * width;
        double logLo = Math.log(ratioMin), logHi = Math.log(ratioMax);
        for (int attempt = 0; attempt < 10; attempt++) {
            double target = area * (scaleMin + (scaleMax - scaleMin) * random.nextDouble());
            double ratio = Math.exp(logLo + (logHi - logLo) * random.nextDouble());
            int w = (int) Math.rint(Math.sqrt(target * ratio));
            int h = (int) Math.rint(Math.sqrt(target / ratio));
            if (w > 0 && h > 0 && w <= width && h <= height) {
                return new int[] {random.nextInt(height - h + 1), random.nextInt(width - w + 1), h, w};
            }
        }
        // Fallback: the largest centred crop whose ratio lies in range.
        double inRatio = (double) width / height;
        int w = width, h = height;
        if (inRatio < ratioMin) {
            h = (int) Math.rint(w / ratioMin);
        } else if (inRatio > ratioMax) {
            w = (int) Math.rint(h * ratioMax);
        }
        return new int[] {(height - h) / 2, (width - w) / 2, h, w};
    }

    public static RgbImage crop(RgbImage src, int top, int left, int height, int width) {
        RgbImage out = RgbImage.blank(width, height);
        for (int c = 0; c < 3; c++) {
            for (int y = 0; y < height; y++) {
                System.arraycopy(src.planes()[c], (top + y) * src.width() + left, out.planes()[c], y * width, width);
            }
        }
        return out;
    }

    /** PIL's bicubic resize (a = -0.5), antialiased when shrinking ({@link BicubicResize}, shared with the evaluation view). */
    public static RgbImage resizeBicubic(RgbImage src, int outWidth, int outHeight) {
        return new RgbImage(outWidth, outHeight, BicubicResize.resize(src.planes(), src.width(), src.height(), outWidth, outHeight));
    }

    /** PIL's bicubic kernel (a = -0.5), shared by the reference resize and {@link CropRenderer}. */
    static double bicubic(double x) {
        return BicubicResize.kernel(x);
    }

    public static void flipHorizontal(RgbImage img) {
        int w = img.width();
        for (float[] plane : distinctPlanes(img)) {
            for (int y = 0; y < img.height(); y++) {
                for (int x = 0; x < w / 2; x++) {
                    int a = y * w + x, b = y * w + w - 1 - x;
                    float t = plane[a];
                    plane[a] = plane[b];
                    plane[b] = t;
                }
            }
        }
    }

    /** ITU-R 601-2 luma, as PIL's convert("L"). */
    public static float luma(float r, float g, float b) {
        return 0.299f * r + 0.587f * g + 0.114f * b;
    }

    public static void grayscale(RgbImage img) {
        float[] r = img.planes()[0], g = img.planes()[1], b = img.planes()[2];
        for (int i = 0; i < r.length; i++) {
            float l = luma(r[i], g[i], b[i]);
            r[i] = l;
            g[i] = l;
            b[i] = l;
        }
    }

    /** ImageEnhance.Brightness: blend with black. */
    public static void brightness(RgbImage img, double factor) {
        for (float[] p : distinctPlanes(img)) for (int i = 0; i < p.length; i++) p[i] = clamp((float) (p[i] * factor));
    }

    /** ImageEnhance.Contrast: blend with the mean grey level. */
    public static void contrast(RgbImage img, double factor) {
        float[] r = img.planes()[0], g = img.planes()[1], b = img.planes()[2];
        double mean = 0;
        for (int i = 0; i < r.length; i++) mean += luma(r[i], g[i], b[i]);
        mean /= r.length;
        for (float[] p : distinctPlanes(img)) for (int i = 0; i < p.length; i++) p[i] = clamp((float) (mean + factor * (p[i] - mean)));
    }

    /** ImageEnhance.Color: blend with the grey version. */
    public static void saturation(RgbImage img, double factor) {
        float[] r = img.planes()[0], g = img.planes()[1], b = img.planes()[2];
        for (int i = 0; i < r.length; i++) {
            float l = luma(r[i], g[i], b[i]);
            r[i] = clamp((float) (l + factor * (r[i] - l)));
            g[i] = clamp((float) (l + factor * (g[i] - l)));
            b[i] = clamp((float) (l + factor * (b[i] - l)));
        }
    }

    /** torchvision adjust_hue: rotate the hue by {@code shift} turns (in [-0.5, 0.5]) in HSV. */
    public static void hue(RgbImage img, double shift) {
        float[] r = img.planes()[0], g = img.planes()[1], b = img.planes()[2];
        for (int i = 0; i < r.length; i++) {
            float max = Math.max(r[i], Math.max(g[i], b[i])), min = Math.min(r[i], Math.min(g[i], b[i]));
            float delta = max - min;
            if (delta == 0) continue;  // grey: hue has no effect
            double h;
            if (max == r[i]) h = ((g[i] - b[i]) / delta) / 6.0;
            else if (max == g[i]) h = (2 + (b[i] - r[i]) / delta) / 6.0;
            else h = (4 + (r[i] - g[i]) / delta) / 6.0;
            h = ((h + shift) % 1 + 1) % 1;
            double s = delta / max, v = max;
            int sector = (int) (h * 6) % 6;
            double f = h * 6 - Math.floor(h * 6);
            float p = (float) (v * (1 - s)), q = (float) (v * (1 - s * f)), t = (float) (v * (1 - s * (1 - f)));
            float vv = (float) v;
            switch (sector) {
                case 0 -> { r[i] = vv; g[i] = t; b[i] = p; }
                case 1 -> { r[i] = q; g[i] = vv; b[i] = p; }
                case 2 -> { r[i] = p; g[i] = vv; b[i] = t; }
                case 3 -> { r[i] = p; g[i] = q; b[i] = vv; }
                case 4 -> { r[i] = t; g[i] = p; b[i] = vv; }
                default -> { r[i] = vv; g[i] = p; b[i] = q; }
            }
        }
    }

    /**
     * PIL's GaussianBlur(radius): three box blurs horizontally, then three vertically, each of the
     * fractional box radius {@link #boxRadius} gives (an extended box filter whose three passes have the
     * variance of a Gaussian of standard deviation {@code radius}); edges repeat the border pixel.
     */
    public static void gaussianBlur(RgbImage img, double radius) {
        double box = boxRadius(radius, 3);
        int w = img.width(), h = img.height();
        for (float[] p : distinctPlanes(img)) {
            for (int pass = 0; pass < 3; pass++) {
                for (int y = 0; y < h; y++) boxLine(p, y * w, 1, w, box);
            }
            for (int pass = 0; pass < 3; pass++) {
                for (int x = 0; x < w; x++) boxLine(p, x, w, h, box);
            }
        }
    }

    /**
     * PIL's _gaussian_blur_radius: the fractional radius of a box filter that, applied {@code passes}
     * times, has variance radius^2 (Gwosdek et al., "Theoretical foundations of Gaussian convolution by
     * extended box filtering", 2011).
     */
    public static double boxRadius(double radius, int passes) {
        double sigma2 = radius * radius / passes;
        double length = Math.sqrt(12.0 * sigma2 + 1.0);
        double l = Math.floor((length - 1.0) / 2.0);
        double a = (2 * l + 1) * (l * (l + 1) - 3 * sigma2);
        a /= 6 * (sigma2 - (l + 1) * (l + 1));
        return l + a;
    }

    /** One extended-box pass along a line of {@code count} samples {@code stride} apart: 2r + 1 taps of 1 / (2R + 1), two of the rest. */
    private static void boxLine(float[] p, int offset, int stride, int count, double radius) {
        int r = (int) radius;
        double ww = 1.0 / (2 * radius + 1), fw = (1.0 - (2 * r + 1) * ww) / 2;
        double[] line = new double[count];
        for (int i = 0; i < count; i++) {
            double s = 0;
            for (int k = -r; k <= r; k++) s += p[offset + Math.min(count - 1, Math.max(0, i + k)) * stride];
            double edges = p[offset + Math.max(0, i - r - 1) * stride] + p[offset + Math.min(count - 1, i + r + 1) * stride];
            line[i] = ww * s + fw * edges;
        }
        for (int i = 0; i < count; i++) p[offset + i * stride] = (float) line[i];
    }

    /** PIL's solarize(threshold=128): values at or above 128/255 are inverted. */
    public static void solarize(RgbImage img) {
        for (float[] p : distinctPlanes(img)) for (int i = 0; i < p.length; i++) if (p[i] * 255f >= 128f) p[i] = 1f - p[i];
    }

    /** The planes to change in place: a grey image's one shared plane once, not three times. */
    private static float[][] distinctPlanes(RgbImage img) {
        return img.sharedGrey() ? new float[][] {img.planes()[0]} : img.planes();
    }

    static float clamp(float v) {
        return v < 0 ? 0 : v > 1 ? 1 : v;
    }
}
