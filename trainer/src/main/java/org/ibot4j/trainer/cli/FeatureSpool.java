package org.ibot4j.trainer.cli;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.ibot4j.api.io.SafeTensorsWriter;

/**
 * Feature rows kept on disk while they are computed, beside the output they will become: memory stays
 * flat whatever the number of images, and the final file (whose header needs the row count) is written
 * at the end by copying them after it. The spool is deleted on close.
 */
final class FeatureSpool implements AutoCloseable {
    private final Path file;
    private final OutputStream out;
    private final int dim;
    private long rows;

    /** A spool for rows of {@code dim} floats, in the folder of {@code target} (made if missing). */
    FeatureSpool(Path target, int dim) throws IOException {
        Path folder = target.toAbsolutePath().getParent();
        Files.createDirectories(folder);
        this.file = Files.createTempFile(folder, "." + target.getFileName(), ".spool");
        this.out = new BufferedOutputStream(Files.newOutputStream(file), 1 << 16);
        this.dim = dim;
    }

    void add(float[] row) throws IOException {
        if (row.length != dim) throw new IllegalArgumentException("a row of " + row.length + " features in a spool of " + dim);
        SafeTensorsWriter.writeLittleEndian(out, row, 0, dim);
        rows++;
    }

    long rows() {
        return rows;
    }

    int dim() {
        return dim;
    }

    /** Copies every row, little-endian float32, to {@code target}. */
    void copyTo(OutputStream target) throws IOException {
        out.flush();
        try (InputStream in = Files.newInputStream(file)) {
            in.transferTo(target);
        }
    }

    @Override
    public void close() throws IOException {
        try {
            out.close();
        } finally {
            Files.deleteIfExists(file);
        }
    }
}
