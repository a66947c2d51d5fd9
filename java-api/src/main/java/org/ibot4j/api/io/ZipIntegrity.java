package org.ibot4j.api.io;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;

/**
 * Checks every entry of a zip file (a LibTorch checkpoint or a .pth) against the CRC-32 its header
 * records, reading the whole file once. LibTorch's reader does not check them, so a bit flipped in
 * tensor data would otherwise load silently.
 */
public final class ZipIntegrity {
    private ZipIntegrity() {}

    /**
     * Reads the whole file and compares each entry's bytes with its recorded size and CRC-32.
     *
     * @param file a zip file
     * @throws IOException naming the file, the entry and what does not match; or when it is no zip at all
     */
    public static void verify(Path file) throws IOException {
        verifyEntries(file);
    }

    /**
     * Whether {@code file} starts with a zip signature ("PK"): a checkpoint or a torch.save file rather
     * than a safetensors file; nothing else is read.
     */
    public static boolean startsLikeZip(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            byte[] magic = in.readNBytes(2);
            return magic.length == 2 && magic[0] == 'P' && magic[1] == 'K';
        }
    }

    /** Largest expansion accepted for a compressed entry over 1 GiB; tensor data deflates far less. */
    static final long MAX_RATIO = 200;

    private static void refuseLikelyBomb(Path file, ZipEntry entry) throws IOException {
        if (entry.getMethod() != ZipEntry.DEFLATED) return;
        long size = entry.getSize(), compressed = Math.max(1, entry.getCompressedSize());
        if (size < 0 || (size > (1L << 30) && size / compressed > MAX_RATIO)) {
            throw new IOException(file + " looks like a zip bomb: entry " + entry.getName() + " would inflate "
                    + compressed + " bytes to " + (size < 0 ? "an unknown size" : size + " bytes")
                    + " (PyTorch and ibot4j store tensors uncompressed)");
        }
    }

    private static void verifyEntries(Path file) throws IOException {
        int entries = 0;
        byte[] buffer = new byte[1 << 16];
        // The central directory's sizes and CRCs: LibTorch writes stored entries with data descriptors,
        // which ZipInputStream refuses to read.
        try (ZipFile zip = new ZipFile(file.toFile())) {
            for (var it = zip.entries(); it.hasMoreElements(); entries++) {
                ZipEntry entry = it.nextElement();
                refuseLikelyBomb(file, entry);
                CRC32 crc = new CRC32();
                long size = 0;
                try (InputStream in = zip.getInputStream(entry)) {
                    for (int n; (n = in.read(buffer)) > 0; size += n) {
                        crc.update(buffer, 0, n);
                        // Inflating past the recorded size would only find out later, after as long as the data lasts.
                        if (entry.getSize() >= 0 && size + n > entry.getSize()) {
                            throw new IOException(file + " is damaged: entry " + entry.getName() + " holds more than the "
                                    + entry.getSize() + " bytes its header says");
                        }
                    }
                }
                if (entry.getSize() >= 0 && entry.getSize() != size) {
                    throw new IOException(file + " is damaged: entry " + entry.getName() + " holds " + size + " bytes, its header says "
                            + entry.getSize());
                }
                if (entry.getCrc() >= 0 && entry.getCrc() != crc.getValue()) {
                    throw new IOException(file + " is damaged: entry " + entry.getName() + " fails its CRC-32 check");
                }
            }
        } catch (ZipException e) {
            throw new IOException(file + " is damaged or not a zip archive: " + e.getMessage(), e);
        }
        if (entries == 0) throw new IOException(file + " is damaged or not a zip archive: no entries");
    }
}
