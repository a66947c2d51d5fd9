package org.ibot4j.trainer.data.shards;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Writes a POSIX ustar archive of regular files, as GNU tar and Python's tarfile read it: fixed modes
 * and times, so the same files give the same bytes. Names longer than ustar's 100 + 155 characters are
 * refused (a shard's member names are short keys).
 */
public final class TarWriter {
    private static final int BLOCK = 512;
    private final OutputStream out;

    public TarWriter(OutputStream out) {
        this.out = out;
    }

    public void add(String name, byte[] content) throws IOException {
        byte[] header = new byte[BLOCK];
        byte[] nameBytes = name.getBytes(StandardCharsets.UTF_8);
        if (nameBytes.length <= 100) {
            System.arraycopy(nameBytes, 0, header, 0, nameBytes.length);
        } else {
            int slash = name.lastIndexOf('/', Math.min(name.length() - 1, 155));
            byte[] prefix = slash > 0 ? name.substring(0, slash).getBytes(StandardCharsets.UTF_8) : null;
            byte[] rest = slash > 0 ? name.substring(slash + 1).getBytes(StandardCharsets.UTF_8) : nameBytes;
            if (prefix == null || prefix.length > 155 || rest.length > 100) throw new IOException("the name " + name + " is too long for a tar member");
            System.arraycopy(rest, 0, header, 0, rest.length);
            System.arraycopy(prefix, 0, header, 345, prefix.length);
        }
        octal(header, 100, 8, 0644);
        octal(header, 108, 8, 0);
        octal(header, 116, 8, 0);
        octal(header, 124, 12, content.length);
        octal(header, 136, 12, 0);
        header[156] = '0';
        byte[] magic = "ustar\u000000".getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(magic, 0, header, 257, magic.length);
        for (int i = 148; i < 156; i++) header[i] = ' ';
        long sum = 0;
        for (byte b : header) sum += b & 0xff;
        octal(header, 148, 7, sum);
        out.write(header);
        out.write(content);
        int pad = (BLOCK - content.length % BLOCK) % BLOCK;
        out.write(new byte[pad]);
    }

    /** The two zero blocks that end an archive; the stream stays open. */
    public void finish() throws IOException {
        out.write(new byte[2 * BLOCK]);
        out.flush();
    }

    /** {@code value} in octal, zero-padded to {@code length - 1} digits and a NUL. */
    private static void octal(byte[] header, int offset, int length, long value) {
        String digits = Long.toOctalString(value);
        if (digits.length() > length - 1) throw new IllegalArgumentException(value + " does not fit a tar header field");
        String padded = "0".repeat(length - 1 - digits.length()) + digits;
        byte[] b = padded.getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(b, 0, header, offset, b.length);
        header[offset + length - 1] = 0;
    }
}
