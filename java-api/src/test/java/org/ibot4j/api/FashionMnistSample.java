package org.ibot4j.api;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.GZIPInputStream;

/**
 * The first images of Debian's Fashion-MNIST (dataset-fashion-mnist), as 3-channel 32x32 float images
 * (28x28 zero-padded by 2, grey replicated, normalised): real data for the native tests.
 */
final class FashionMnistSample {
    static final Path DIR = Path.of(System.getenv().getOrDefault("IBOT4J_FASHION_MNIST", "/usr/share/datasets/fashion-mnist"));
    static final int SIZE = 32;

    private FashionMnistSample() {}

    /** {@code count} images, flattened as {@code [count, 3, 32, 32]}, starting at image {@code offset}. */
    static float[] images(int offset, int count) {
        Path file = DIR.resolve("train-images-idx3-ubyte.gz");
        if (!Files.isRegularFile(file)) {
            throw new IllegalStateException("Fashion-MNIST not found at " + file
                    + "; install it with 'apt-get install dataset-fashion-mnist' or set IBOT4J_FASHION_MNIST");
        }
        try (InputStream raw = Files.newInputStream(file);
                DataInputStream in = new DataInputStream(new GZIPInputStream(raw, 1 << 16))) {
            if (in.readInt() != 0x803) throw new IOException("not an IDX image file: " + file);
            int n = in.readInt(), rows = in.readInt(), cols = in.readInt();
            if (offset + count > n) throw new IllegalArgumentException("only " + n + " images");
            in.skipNBytes((long) offset * rows * cols);
            float[] out = new float[count * 3 * SIZE * SIZE];
            byte[] pixels = new byte[rows * cols];
            int pad = (SIZE - rows) / 2;
            for (int i = 0; i < count; i++) {
                in.readFully(pixels);
                for (int c = 0; c < 3; c++) {
                    int base = (i * 3 + c) * SIZE * SIZE;
                    Arrays.fill(out, base, base + SIZE * SIZE, (0f - 0.2860f) / 0.3530f);
                    for (int y = 0; y < rows; y++) {
                        for (int x = 0; x < cols; x++) {
                            float v = (pixels[y * cols + x] & 0xff) / 255f;
                            out[base + (y + pad) * SIZE + x + pad] = (v - 0.2860f) / 0.3530f;
                        }
                    }
                }
            }
            return out;
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    /** Mirror images left-right, {@code [count, 3, size, size]}. */
    static float[] flipped(float[] images, int size) {
        float[] out = new float[images.length];
        for (int row = 0; row < images.length / size; row++) {
            for (int x = 0; x < size; x++) out[row * size + x] = images[row * size + size - 1 - x];
        }
        return out;
    }

    /** 2x2 average pooling, {@code [count, 3, size, size]} to half the size. */
    static float[] halved(float[] images, int size) {
        int half = size / 2;
        int planes = images.length / (size * size);
        float[] out = new float[planes * half * half];
        for (int p = 0; p < planes; p++) {
            for (int y = 0; y < half; y++) {
                for (int x = 0; x < half; x++) {
                    int s = p * size * size + 2 * y * size + 2 * x;
                    out[p * half * half + y * half + x] = (images[s] + images[s + 1] + images[s + size] + images[s + size + 1]) / 4f;
                }
            }
        }
        return out;
    }
}
