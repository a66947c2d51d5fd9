package org.ibot4j.trainer.eval;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import org.ibot4j.api.Encoder;
import org.ibot4j.api.IbotModel;
import org.ibot4j.api.Network;
import org.ibot4j.trainer.data.ImageSource;
import org.ibot4j.trainer.data.MultiCropAugmentation;
import org.ibot4j.trainer.data.RgbImage;

/** Frozen features for k-NN: a network's CLS token on centred views, or the raw pixels as a baseline. */
public final class Features {
    private static final int CHUNK = 256;

    private Features() {}

    /** CLS features of a chunk of prepared images {@code [n, 3, size, size]}. */
    private interface Backbone {
        float[][] cls(MemorySegment images, int n, int size);
    }

    /** CLS features of every image of {@code data} (resized and centre-cropped to {@code size}). */
    public static float[][] cls(IbotModel model, Network which, ImageSource data, MultiCropAugmentation views, int size)
            throws IOException {
        return cls((images, n, s) -> model.embedCls(which, images, n, s, s), data, views, size);
    }

    /** The same through an {@link Encoder} (a backbone file), on the same views: comparable with a model's numbers. */
    public static float[][] cls(Encoder encoder, ImageSource data, MultiCropAugmentation views, int size) throws IOException {
        return cls((images, n, s) -> {
            int d = encoder.dim();
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment out = arena.allocate(ValueLayout.JAVA_FLOAT, (long) n * d);
                encoder.forward(images, n, s, s, out, MemorySegment.NULL);
                float[][] rows = new float[n][];
                for (int i = 0; i < n; i++) rows[i] = out.asSlice((long) i * d * Float.BYTES, (long) d * Float.BYTES).toArray(ValueLayout.JAVA_FLOAT);
                return rows;
            }
        }, data, views, size);
    }

    private static float[][] cls(Backbone backbone, ImageSource data, MultiCropAugmentation views, int size) throws IOException {
        float[][] out = new float[data.size()][];
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment images = arena.allocate(ValueLayout.JAVA_FLOAT, (long) CHUNK * 3 * size * size);
            for (int start = 0; start < data.size(); start += CHUNK) {
                int n = Math.min(CHUNK, data.size() - start);
                for (int i = 0; i < n; i++) {
                    views.centre(data.load(start + i), size, images, (long) i * 3 * size * size);
                }
                float[][] rows = backbone.cls(images.asSlice(0, (long) n * 3 * size * size * Float.BYTES), n, size);
                System.arraycopy(rows, 0, out, start, n);
            }
        }
        return out;
    }

    /**
     * Pixel values in [0, 1] as the baseline's features; every image must have the size of the first.
     * When every image is grey, one plane per image (the same cosine similarities as three equal
     * planes, at a third of the cost).
     */
    public static float[][] pixels(ImageSource data) throws IOException {
        float[][] out = new float[data.size()][];
        int width = -1, height = -1;
        boolean allGrey = true;
        for (int i = 0; i < data.size(); i++) {
            RgbImage image = data.load(i);
            if (width < 0) {
                width = image.width();
                height = image.height();
            } else if (image.width() != width || image.height() != height) {
                throw new IllegalArgumentException("the raw-pixel baseline needs images of one size; " + data.describe(i) + " is "
                        + image.width() + "x" + image.height() + ", the first " + width + "x" + height);
            }
            float[][] planes = image.planes();
            allGrey &= Arrays.equals(planes[0], planes[1]) && Arrays.equals(planes[0], planes[2]);
            float[] row = new float[3 * width * height];
            for (int c = 0; c < 3; c++) System.arraycopy(planes[c], 0, row, c * width * height, width * height);
            out[i] = row;
        }
        if (allGrey) {
            for (int i = 0; i < out.length; i++) out[i] = Arrays.copyOf(out[i], width * height);
        }
        return out;
    }
}
