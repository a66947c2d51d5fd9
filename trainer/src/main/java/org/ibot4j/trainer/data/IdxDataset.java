package org.ibot4j.trainer.data;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;

/**
 * A labelled grey-scale image set in the IDX format of MNIST and Fashion-MNIST (gzipped or not):
 * {@code images[i]} holds rows*cols unsigned pixels, {@code labels[i]} the class.
 */
public record IdxDataset(byte[][] images, int[] labels, int rows, int cols) {
    private static final int IMAGE_MAGIC = 0x00000803, LABEL_MAGIC = 0x00000801;

    public int size() {
        return images.length;
    }

    public int numClasses() {
        int max = 0;
        for (int l : labels) max = Math.max(max, l);
        return max + 1;
    }

    /** The first {@code count} samples (or all if fewer). */
    public IdxDataset head(int count) {
        int n = Math.min(count, size());
        return new IdxDataset(java.util.Arrays.copyOf(images, n), java.util.Arrays.copyOf(labels, n), rows, cols);
    }

    /** Reads {@code <prefix>-images-idx3-ubyte[.gz]} and {@code <prefix>-labels-idx1-ubyte[.gz]} from {@code dir}. */
    public static IdxDataset read(Path dir, String prefix) throws IOException {
        Path images = find(dir, prefix + "-images-idx3-ubyte");
        Path labels = find(dir, prefix + "-labels-idx1-ubyte");
        try (DataInputStream img = open(images); DataInputStream lab = open(labels)) {
            int magic = img.readInt();
            if (magic != IMAGE_MAGIC) throw new IOException(images + " is not an IDX image file (magic 0x" + Integer.toHexString(magic) + ")");
            int n = img.readInt(), rows = img.readInt(), cols = img.readInt();
            int labelMagic = lab.readInt();
            if (labelMagic != LABEL_MAGIC) throw new IOException(labels + " is not an IDX label file (magic 0x" + Integer.toHexString(labelMagic) + ")");
            int nLabels = lab.readInt();
            if (nLabels != n) throw new IOException(images + " has " + n + " images but " + labels + " has " + nLabels + " labels");
            byte[][] pixels = new byte[n][rows * cols];
            int[] classes = new int[n];
            for (int i = 0; i < n; i++) {
                img.readFully(pixels[i]);
                classes[i] = lab.readUnsignedByte();
            }
            return new IdxDataset(pixels, classes, rows, cols);
        } catch (java.io.EOFException e) {
            throw new IOException("IDX file ended early (truncated?) in " + dir + " for '" + prefix + "'", e);
        }
    }

    private static Path find(Path dir, String base) throws IOException {
        for (String name : new String[] {base, base + ".gz"}) {
            Path p = dir.resolve(name);
            if (Files.isRegularFile(p)) return p;
        }
        throw new IOException("no " + base + "[.gz] in " + dir);
    }

    private static DataInputStream open(Path file) throws IOException {
        InputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 16);
        in.mark(2);
        int b0 = in.read(), b1 = in.read();
        in.reset();
        if (b0 == 0x1f && b1 == 0x8b) in = new GZIPInputStream(in, 1 << 16);
        return new DataInputStream(in);
    }
}
