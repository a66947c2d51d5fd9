package org.ibot4j.api.image;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import org.ibot4j.api.IbotModel;

/**
 * The evaluation view of iBOT's k-NN and linear probe, which {@code embed} and the {@link
 * org.ibot4j.api.Encoder} use too: resize the shorter side to {@code size} (PIL bicubic), centre crop
 * {@code size x size}, normalise each channel with the run's mean and std, written as CHW float32.
 *
 * @param size output side in pixels
 * @param mean per channel
 * @param std  per channel
 */
public record EvalTransform(int size, float[] mean, float[] std) {
    /** The ImageNet statistics: official iBOT's normalisation and {@code pretrain}'s default. */
    public static final double[] IMAGENET_MEAN = {0.485, 0.456, 0.406}, IMAGENET_STD = {0.229, 0.224, 0.225};

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Checks the arguments. */
    public EvalTransform {
        if (size <= 0) throw new IllegalArgumentException("the evaluation size must be positive, got " + size);
        if (mean.length != 3 || std.length != 3) throw new IllegalArgumentException("mean and std need 3 channels");
    }

    /**
     * The transform of a checkpoint at {@code size}: the normalisation of the {@code pretrain} run that
     * wrote it (its stored options), or ImageNet's for a checkpoint without them (imported).
     */
    public static EvalTransform forCheckpoint(Path checkpoint, int size) {
        double[][] stored = storedNormalisation(checkpoint).orElse(new double[][] {IMAGENET_MEAN, IMAGENET_STD});
        return new EvalTransform(size, channels(stored[0]), channels(stored[1]));
    }

    /**
     * The normalisation a {@code pretrain} run stored in its checkpoint ({@code {mean, std}}, 1 or 3
     * channels each), empty for a checkpoint without one (imported, or saved by a library caller).
     */
    public static java.util.Optional<double[][]> storedNormalisation(Path checkpoint) {
        JsonNode options = storedOptions(checkpoint);
        if (options == null || !options.has("mean") || !options.has("std")) return java.util.Optional.empty();
        return java.util.Optional.of(new double[][] {doubles(options.get("mean")), doubles(options.get("std"))});
    }

    /** ImageNet's normalisation at {@code size}, for weights that carry none (timm and official files). */
    public static EvalTransform imageNet(int size) {
        return new EvalTransform(size, channels(IMAGENET_MEAN), channels(IMAGENET_STD));
    }

    /** Three channels from one value (all channels) or three. */
    public static float[] channels(double[] v) {
        if (v.length != 1 && v.length != 3) throw new IllegalArgumentException("need 1 or 3 channel values, got " + v.length);
        return v.length == 1 ? new float[] {(float) v[0], (float) v[0], (float) v[0]}
                : new float[] {(float) v[0], (float) v[1], (float) v[2]};
    }

    /** Floats one image takes: {@code 3 * size * size}. */
    public long floatsPerImage() {
        return 3L * size * size;
    }

    /** Resizes (shorter side to {@code size}), centre-crops and normalises {@code image} into {@code out} at {@code floatOffset}. */
    public void write(Pixels image, MemorySegment out, long floatOffset) {
        double scale = (double) size / Math.min(image.width(), image.height());
        // The resized size may pass 2^31 pixels for a long thin image; only the centre window is computed.
        long w = Math.max(size, Math.round(Math.rint(image.width() * scale))), h = Math.max(size, Math.round(Math.rint(image.height() * scale)));
        int top = (int) ((h - size) / 2), left = (int) ((w - size) / 2);
        boolean same = w == image.width() && h == image.height();
        float[][] planes = same ? image.planes()
                : BicubicResize.resizeCrop(image.planes(), image.width(), image.height(), (int) Math.min(w, Integer.MAX_VALUE),
                        (int) Math.min(h, Integer.MAX_VALUE), left, top, size, size);
        int stride = same ? image.width() : size, x0 = same ? left : 0, y0 = same ? top : 0;
        for (int c = 0; c < 3; c++) {
            float[] p = planes[c];
            float m = mean[c], s = std[c];
            long base = floatOffset + (long) c * size * size;
            for (int y = 0; y < size; y++) {
                int row = (y0 + y) * stride + x0;
                for (int x = 0; x < size; x++) out.setAtIndex(ValueLayout.JAVA_FLOAT, base + (long) y * size + x, (p[row + x] - m) / s);
            }
        }
    }

    /** The {@code options} a {@code pretrain} run stored in the checkpoint's metadata, or null. */
    private static JsonNode storedOptions(Path checkpoint) {
        String metadata = IbotModel.readMetadata(checkpoint);
        try {
            JsonNode node = metadata.isBlank() ? null : JSON.readTree(metadata);
            return node == null ? null : node.get("options");
        } catch (IOException notJson) {
            // Metadata written by 'import' or by a library caller need not be JSON: no options then.
            return null;
        }
    }

    private static double[] doubles(JsonNode array) {
        double[] out = new double[array.size()];
        for (int i = 0; i < out.length; i++) out[i] = array.get(i).asDouble();
        return out;
    }
}
