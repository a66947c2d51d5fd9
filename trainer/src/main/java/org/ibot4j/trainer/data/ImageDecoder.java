package org.ibot4j.trainer.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.ibot4j.api.image.ImageReading;

/**
 * Decodes JPEG, PNG, BMP and GIF files into {@link RgbImage}: JPEGs with libjpeg-turbo when it is
 * installed ({@link TurboJpeg}, which can also decode at 1/2, 1/4 or 1/8 size), everything else and
 * JPEGs without it with the JDK's ImageIO. Grey images are
 * replicated to three channels, 16-bit samples scaled to [0, 1], palettes expanded, alpha dropped
 * (as PIL's {@code convert("RGB")}). A decoder warning (e.g. a truncated JPEG) counts as a failure:
 * such files are skipped, not trained on half-grey.
 */
public final class ImageDecoder {
    /**
     * The most pixels an image may declare: PIL's decompression-bomb limit (2 x MAX_IMAGE_PIXELS), which
     * the official pipeline inherits. A larger header is refused before any pixel is decoded.
     */
    public static final long MAX_PIXELS = ImageReading.MAX_PIXELS;

    private ImageDecoder() {}

    public static RgbImage decode(Path file) throws IOException {
        return open(file).decode(1);
    }

    /**
     * The image's size, with its pixels decoded on demand: a JPEG (when libjpeg-turbo is there) is only
     * read and its header checked here; other formats are decoded now.
     */
    public static EncodedImage open(Path file) throws IOException {
        return open(file, true);
    }

    /** As {@link #open(Path)}; with {@code turboJpeg} false, JPEGs too are decoded by ImageIO. */
    public static EncodedImage open(Path file, boolean turboJpeg) throws IOException {
        if (!Files.isRegularFile(file)) {
            // A FIFO or a device would block the loader forever; a folder is no image.
            throw new IOException(file + ": not a regular file");
        }
        if (turboJpeg && startsLikeJpeg(file) && TurboJpeg.usable()) return openJpeg(file);
        return EncodedImage.of(decodeWithImageIo(file));
    }

    /**
     * An image held in memory (a member of a shard), as {@link #open(Path)} opens a file; {@code name}
     * says where it came from in messages.
     */
    public static EncodedImage open(byte[] bytes, String name) throws IOException {
        if (bytes == null || bytes.length == 0) throw new IOException(name + ": no image bytes" + (bytes == null ? " (null)" : " (empty)"));
        if (TurboJpeg.isJpeg(bytes) && TurboJpeg.usable()) return openJpeg(bytes, name);
        return EncodedImage.of(RgbImage.of(ImageReading.decode(bytes, name)));
    }

    private static boolean startsLikeJpeg(Path file) throws IOException {
        byte[] start = new byte[3];
        try (var in = Files.newInputStream(file)) {
            return in.readNBytes(start, 0, 3) == 3 && TurboJpeg.isJpeg(start);
        }
    }

    private static EncodedImage openJpeg(Path file) throws IOException {
        long size = Files.size(file);
        if (size > Integer.MAX_VALUE - 16) throw new IOException(file + ": " + size + " bytes is too large for a JPEG");
        return openJpeg(Files.readAllBytes(file), file.toString());
    }

    private static EncodedImage openJpeg(byte[] bytes, String name) throws IOException {
        TurboJpeg.Header header = TurboJpeg.header(bytes, name);
        ImageReading.checkPixels(name, header.width(), header.height());
        return new EncodedImage() {
            @Override public int width() { return header.width(); }
            @Override public int height() { return header.height(); }
            @Override public boolean scalable() { return true; }
            @Override public RgbImage decode(int denominator) throws IOException {
                if (denominator != 1 && denominator != 2 && denominator != 4 && denominator != 8) {
                    throw new IllegalArgumentException("scale 1/" + denominator + ": JPEGs decode at 1/1, 1/2, 1/4 or 1/8");
                }
                return TurboJpeg.decode(bytes, header, denominator, name);
            }
        };
    }

    static RgbImage decodeWithImageIo(Path file) throws IOException {
        return RgbImage.of(ImageReading.decode(file));
    }
}
