package org.ibot4j.api.io;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;

/**
 * Counts the bytes written through it, for formats that record offsets (zip alignment, Parquet column
 * chunks); closing it flushes and leaves the underlying stream open, which belongs to the caller.
 */
public final class CountingOutputStream extends FilterOutputStream {
    private long count;

    public CountingOutputStream(OutputStream out) {
        super(out);
    }

    /** Bytes written so far. */
    public long count() {
        return count;
    }

    @Override
    public void write(int b) throws IOException {
        out.write(b);
        count++;
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        out.write(b, off, len);
        count += len;
    }

    @Override
    public void close() throws IOException {
        out.flush();
    }
}
