package org.ibot4j.trainer.data.shards;

import java.io.BufferedInputStream;
import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;

/**
 * Reads the regular files of a tar archive front to back (POSIX ustar, with the pax and GNU long-name
 * extensions Python's tarfile and GNU tar write; gzipped or not). Only what a WebDataset shard needs: names and bytes,
 * no modes, links or times. A damaged archive (a header whose checksum does not add up, a member cut
 * off by the end of the file) ends the reading with {@link #damage()} saying where.
 */
public final class TarReader implements Closeable {
    private static final int BLOCK = 512;

    /** A regular file of the archive. */
    public record Member(String name, long size, long offset) {}

    private final Path file;
    private final InputStream in;
    private long position;
    private String damage;
    private Member current;
    private boolean currentRead;

    public TarReader(Path file) throws IOException {
        this.file = file;
        InputStream raw = new BufferedInputStream(Files.newInputStream(file), 1 << 16);
        raw.mark(2);
        boolean gzip = raw.read() == 0x1f && raw.read() == 0x8b;
        raw.reset();
        // A gzipped tar (.tar.gz, .tgz, as webdataset also reads) is read through the inflater, front to back all the same.
        this.in = gzip ? new BufferedInputStream(new GZIPInputStream(raw, 1 << 16), 1 << 16) : raw;
    }

    /** The next regular file, or null at the archive's end or at damage (see {@link #damage()}). */
    public Member next() throws IOException {
        try {
            return nextMember();
        } catch (EOFException | ZipException e) {
            return damaged("its gzip stream " + (e instanceof EOFException ? "ends early" : "is damaged (" + e.getMessage() + ")"));
        }
    }

    private Member nextMember() throws IOException {
        if (current != null && !currentRead && !skipBody(current.size)) {
            return damaged("the file ends inside " + current.name + " (" + current.size + " bytes from byte " + current.offset + ")");
        }
        current = null;
        String longName = null;
        while (true) {
            byte[] header = new byte[BLOCK];
            int n = in.readNBytes(header, 0, BLOCK);
            long at = position;
            position += n;
            if (n == 0) return null;
            if (n < BLOCK) return damaged("the file ends inside a header at byte " + at);
            if (allZero(header)) return null;
            if (!checksumMatches(header)) {
                return damaged(at == 0 ? "not a tar archive (no valid header at its start)" : "a damaged header at byte " + at);
            }
            long size = number(header, 124, 12);
            if (size < 0) return damaged("a header with an unreadable size at byte " + at);
            byte type = header[156];
            if (type == 'x' || type == 'L') {
                if (size > 1 << 20) return damaged("an extended header of " + size + " bytes at byte " + at);
                byte[] body = readBody(size);
                if (body == null) return damaged("the file ends inside the extended header at byte " + at);
                String name = type == 'L' ? cString(body, 0, body.length) : paxPath(body);
                if (name != null) longName = name;
                continue;
            }
            if (type != '0' && type != 0 && type != '7') {
                // folders, links, global pax headers: no file content a sample uses
                if (!skipBody(size)) return damaged("the file ends inside a member at byte " + at);
                continue;
            }
            String name = longName != null ? longName : ustarName(header);
            current = new Member(name, size, position);
            currentRead = false;
            return current;
        }
    }

    /** The bytes of the member {@link #next()} returned; null when the file ends inside them (see {@link #damage()}). */
    public byte[] read() throws IOException {
        if (current == null || currentRead) throw new IllegalStateException("no member to read");
        currentRead = true;
        if (current.size > Integer.MAX_VALUE - 16) {
            damaged("a member of " + current.size + " bytes (" + current.name + ")");
            return null;
        }
        byte[] body;
        try {
            body = readBody(current.size);
        } catch (EOFException | ZipException e) {
            body = null;
        }
        if (body == null) damaged("the file ends inside " + current.name + " (" + current.size + " bytes from byte " + current.offset + ")");
        return body;
    }

    /** Why reading stopped early, or null while the archive is whole. */
    public String damage() {
        return damage;
    }

    public Path file() {
        return file;
    }

    @Override
    public void close() throws IOException {
        in.close();
    }

    private Member damaged(String why) {
        if (damage == null) damage = why;
        current = null;
        return null;
    }

    private byte[] readBody(long size) throws IOException {
        byte[] body = in.readNBytes((int) size);
        position += body.length;
        if (body.length < size) return null;
        long pad = padding(size);
        long skipped = skip(pad);
        position += skipped;
        return body;
    }

    private boolean skipBody(long size) throws IOException {
        long total = size + padding(size);
        long skipped = skip(total);
        position += skipped;
        return skipped >= size;
    }

    /** Skips up to {@code n} bytes; fewer only at the end of the file. */
    private long skip(long n) throws IOException {
        long done = 0;
        while (done < n) {
            long s = in.skip(n - done);
            if (s <= 0) {
                if (in.read() < 0) break;
                s = 1;
            }
            done += s;
        }
        return done;
    }

    private static long padding(long size) {
        return (BLOCK - size % BLOCK) % BLOCK;
    }

    private static boolean allZero(byte[] block) {
        for (byte b : block) if (b != 0) return false;
        return true;
    }

    private static boolean checksumMatches(byte[] header) {
        long stored = number(header, 148, 8);
        long unsigned = 0, signed = 0;
        for (int i = 0; i < BLOCK; i++) {
            int b = i >= 148 && i < 156 ? ' ' : header[i];
            unsigned += b & 0xff;
            signed += b;
        }
        return stored == unsigned || stored == signed;
    }

    /** An octal field, or GNU's base-256 for large sizes; -1 when unreadable. */
    static long number(byte[] header, int offset, int length) {
        if ((header[offset] & 0x80) != 0) {
            long v = header[offset] & 0x7f;
            for (int i = 1; i < length; i++) v = (v << 8) | (header[offset + i] & 0xff);
            return v;
        }
        long v = 0;
        boolean any = false;
        for (int i = offset; i < offset + length; i++) {
            byte b = header[i];
            if (b == 0 || b == ' ') {
                if (any) break;
                continue;
            }
            if (b < '0' || b > '7') return -1;
            v = v * 8 + (b - '0');
            any = true;
        }
        return any ? v : 0;
    }

    private static String ustarName(byte[] header) {
        String name = cString(header, 0, 100);
        boolean ustar = header[257] == 'u' && header[258] == 's' && header[259] == 't' && header[260] == 'a' && header[261] == 'r';
        String prefix = ustar ? cString(header, 345, 155) : "";
        return prefix.isEmpty() ? name : prefix + "/" + name;
    }

    private static String cString(byte[] bytes, int offset, int length) {
        int end = offset;
        while (end < offset + length && bytes[end] != 0) end++;
        return new String(bytes, offset, end - offset, StandardCharsets.UTF_8);
    }

    /** The {@code path} record of a pax extended header ("LEN path=NAME\n" records), or null. */
    private static String paxPath(byte[] body) {
        int i = 0;
        while (i < body.length) {
            int space = i;
            while (space < body.length && body[space] != ' ') space++;
            if (space >= body.length) return null;
            int length;
            try {
                length = Integer.parseInt(new String(body, i, space - i, StandardCharsets.US_ASCII));
            } catch (NumberFormatException e) {
                return null;
            }
            if (length <= 0 || i + length > body.length) return null;
            String record = new String(body, space + 1, i + length - space - 2, StandardCharsets.UTF_8);
            if (record.startsWith("path=")) return record.substring(5);
            i += length;
        }
        return null;
    }
}
