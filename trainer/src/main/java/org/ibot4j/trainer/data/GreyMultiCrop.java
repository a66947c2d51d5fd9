package org.ibot4j.trainer.data;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import org.ibot4j.api.TrainBatch;

/**
 * Multi-crop views of small grey images (Fashion-MNIST) written straight into a {@link TrainBatch}:
 * random-resized crop (bilinear), horizontal flip, brightness/contrast jitter (p 0.8), solarisation
 * (second global crop, p 0.2), normalisation, grey replicated to 3 channels; block masks for the
 * global crops. A reduced form of iBOT's pipeline for the demo: no blur, no hue/saturation (grey
 * images have none), bilinear rather than bicubic resampling.
 */
public final class GreyMultiCrop {
    public record Options(int nGlobal, int nLocal, int globalSize, int localSize, double globalScaleMin,
            double localScaleMin, double localScaleMax, float mean, float std, int patchSize, MaskRatio maskRatio) {}

    private final Options o;
    private final BlockMaskGenerator masks = BlockMaskGenerator.official();

    public GreyMultiCrop(Options options) {
        this.o = options;
    }

    public Options options() {
        return o;
    }

    /** Fills every crop and mask of {@code batch} from {@code images[indices[b]]}; deterministic in (seed, step, b). */
    public void fill(TrainBatch batch, IdxDataset data, int[] indices, long seed, long step) {
        int b = batch.batchSize();
        int grid = o.globalSize / o.patchSize;
        boolean[] mask = new boolean[grid * grid];
        for (int i = 0; i < b; i++) {
            SplittableRandom random = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + step * 1_000_003L + i);
            byte[] image = data.images()[indices[i]];
            for (int c = 0; c < o.nGlobal; c++) {
                long offset = (long) (c * b + i) * 3 * o.globalSize * o.globalSize;
                crop(image, data.rows(), data.cols(), o.globalSize, o.globalScaleMin, 1.0, c == 1, random, batch.globalCrops(), offset);
                masks.generate(mask, grid, grid, o.maskRatio.draw(random), random);
                long maskOffset = (long) (c * b + i) * grid * grid;
                for (int m = 0; m < mask.length; m++) batch.masks().set(ValueLayout.JAVA_BYTE, maskOffset + m, (byte) (mask[m] ? 1 : 0));
            }
            for (int c = 0; c < o.nLocal; c++) {
                long offset = (long) (c * b + i) * 3 * o.localSize * o.localSize;
                crop(image, data.rows(), data.cols(), o.localSize, o.localScaleMin, o.localScaleMax, false, random, batch.localCrops(), offset);
            }
        }
    }

    /** Centre view for evaluation: the image padded (or cropped) to {@code size}, normalised, 3 channels. */
    public void centre(byte[] image, int rows, int cols, int size, MemorySegment out, long floatOffset) {
        float background = (0f - o.mean) / o.std;
        int padY = (size - rows) / 2, padX = (size - cols) / 2;
        for (int y = 0; y < size; y++) {
            for (int x = 0; x < size; x++) {
                int sy = y - padY, sx = x - padX;
                float v = sy >= 0 && sy < rows && sx >= 0 && sx < cols ? ((image[sy * cols + sx] & 0xff) / 255f - o.mean) / o.std : background;
                for (int ch = 0; ch < 3; ch++) out.setAtIndex(ValueLayout.JAVA_FLOAT, floatOffset + (long) ch * size * size + y * size + x, v);
            }
        }
    }

    private void crop(byte[] image, int rows, int cols, int size, double scaleMin, double scaleMax, boolean solarisable,
            SplittableRandom random, MemorySegment out, long floatOffset) {
        double[] box = randomResizedCrop(rows, cols, scaleMin, scaleMax, random);  // top, left, h, w
        boolean flip = random.nextDouble() < 0.5;
        boolean jitter = random.nextDouble() < 0.8;
        double brightness = 0.6 + 0.8 * random.nextDouble(), contrast = 0.6 + 0.8 * random.nextDouble();
        boolean brightnessFirst = random.nextBoolean();
        boolean solarise = solarisable && random.nextDouble() < 0.2;
        float[] pixels = new float[size * size];
        for (int y = 0; y < size; y++) {
            for (int x = 0; x < size; x++) {
                int xx = flip ? size - 1 - x : x;
                // Pixel-centre mapping, as torchvision's resize (align_corners=False).
                double sy = box[0] + (y + 0.5) * box[2] / size - 0.5, sx = box[1] + (xx + 0.5) * box[3] / size - 0.5;
                float v = bilinear(image, rows, cols, sy, sx) / 255f;
                pixels[y * size + x] = v;
            }
        }
        if (jitter) {
            if (brightnessFirst) scale(pixels, brightness);
            float mean = (float) (mean(pixels));
            for (int p = 0; p < pixels.length; p++) pixels[p] = clamp(mean + (float) contrast * (pixels[p] - mean));
            if (!brightnessFirst) scale(pixels, brightness);
        }
        for (int p = 0; p < pixels.length; p++) {
            float v = solarise && pixels[p] >= 128f / 255f ? 1f - pixels[p] : pixels[p];
            v = (v - o.mean) / o.std;
            for (int ch = 0; ch < 3; ch++) out.setAtIndex(ValueLayout.JAVA_FLOAT, floatOffset + (long) ch * pixels.length + p, v);
        }
    }

    /** torchvision's RandomResizedCrop.get_params, aspect ratio in (3/4, 4/3); falls back to the whole image. */
    static double[] randomResizedCrop(int rows, int cols, double scaleMin, double scaleMax, SplittableRandom random) {
        double area = rows * cols;
        double logLo = Math.log(3.0 / 4.0), logHi = Math.log(4.0 / 3.0);
        for (int attempt = 0; attempt < 10; attempt++) {
            double target = area * (scaleMin + (scaleMax - scaleMin) * random.nextDouble());
            double ratio = Math.exp(logLo + (logHi - logLo) * random.nextDouble());
            int w = (int) Math.rint(Math.sqrt(target * ratio));
            int h = (int) Math.rint(Math.sqrt(target / ratio));
            if (w > 0 && h > 0 && w <= cols && h <= rows) {
                int top = random.nextInt(rows - h + 1), left = random.nextInt(cols - w + 1);
                return new double[] {top, left, h, w};
            }
        }
        return new double[] {0, 0, rows, cols};
    }

    private static float bilinear(byte[] image, int rows, int cols, double y, double x) {
        y = Math.max(0, Math.min(rows - 1, y));
        x = Math.max(0, Math.min(cols - 1, x));
        int y0 = (int) y, x0 = (int) x;
        int y1 = Math.min(y0 + 1, rows - 1), x1 = Math.min(x0 + 1, cols - 1);
        double fy = y - y0, fx = x - x0;
        double top = (image[y0 * cols + x0] & 0xff) * (1 - fx) + (image[y0 * cols + x1] & 0xff) * fx;
        double bottom = (image[y1 * cols + x0] & 0xff) * (1 - fx) + (image[y1 * cols + x1] & 0xff) * fx;
        return (float) (top * (1 - fy) + bottom * fy);
    }

    private static void scale(float[] pixels, double factor) {
        for (int p = 0; p < pixels.length; p++) pixels[p] = clamp((float) (pixels[p] * factor));
    }

    private static double mean(float[] pixels) {
        double s = 0;
        for (float v : pixels) s += v;
        return s / pixels.length;
    }

    private static float clamp(float v) {
        return Math.max(0f, Math.min(1f, v));
    }
}
