package org.ibot4j.trainer.data;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
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
        return new IdxDataset(Arrays.copyOf(images, n), Arrays.copyOf(labels, n), rows, cols);
    }

    /** Reads {@code <prefix>-images-idx3-ubyte[.gz]} and {@code <prefix>-labels-idx1-ubyte[.gz]} from {@code dir}. */
    /** Largest image an IDX header may declare (64 Mi pixels); MNIST-style files hold 28 x 28. */
    static final long MAX_IMAGE_PIXELS = 1L << 26;

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
            if (n < 0 || rows < 1 || cols < 1 || (long) rows * cols > MAX_IMAGE_PIXELS) {
                throw new IOException(images + " declares " + n + " images of " + rows + " x " + cols + " pixels: not a valid IDX image file");
            }
            // Images are allocated as they are read, so a header that claims more than the file holds
            // costs only what the file holds before it ends early.
            List<byte[]> pixels = new ArrayList<>();
            List<Integer> classes = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                byte[] image = new byte[rows * cols];
                img.readFully(image);
                pixels.add(image);
                classes.add(lab.readUnsignedByte());
            }
            return new IdxDataset(pixels.toArray(new byte[0][]), classes.stream().mapToInt(Integer::intValue).toArray(), rows, cols);
        } catch (EOFException e) {
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
