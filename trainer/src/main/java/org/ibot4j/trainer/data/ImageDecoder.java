package org.ibot4j.trainer.data;

import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

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
    public static final long MAX_PIXELS = 178_956_970L;

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

    private static boolean startsLikeJpeg(Path file) throws IOException {
        byte[] start = new byte[3];
        try (var in = Files.newInputStream(file)) {
            return in.readNBytes(start, 0, 3) == 3 && TurboJpeg.isJpeg(start);
        }
    }

    private static EncodedImage openJpeg(Path file) throws IOException {
        long size = Files.size(file);
        if (size > Integer.MAX_VALUE - 16) throw new IOException(file + ": " + size + " bytes is too large for a JPEG");
        byte[] bytes = Files.readAllBytes(file);
        String name = file.toString();
        TurboJpeg.Header header = TurboJpeg.header(bytes, name);
        checkPixels(file, header.width(), header.height());
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

    private static void checkPixels(Path file, int width, int height) throws IOException {
        if ((long) width * height > MAX_PIXELS) {
            throw new IOException(file + ": " + width + " x " + height + " pixels is more than the "
                    + MAX_PIXELS + " allowed (a decompression bomb, or an image to downscale first)");
        }
    }

    static RgbImage decodeWithImageIo(Path file) throws IOException {
        BufferedImage image;
        try (ImageInputStream in = ImageIO.createImageInputStream(file.toFile())) {
            if (in == null) throw new IOException(file + ": cannot open");
            Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
            if (!readers.hasNext()) throw new IOException(file + ": not an image in a supported format (JPEG, PNG, BMP, GIF)");
            ImageReader reader = readers.next();
            try {
                StringBuilder warnings = new StringBuilder();
                reader.addIIOReadWarningListener((source, warning) -> warnings.append(warning).append("; "));
                reader.setInput(in, true, true);
                checkPixels(file, reader.getWidth(0), reader.getHeight(0));
                image = reader.read(0);
                if (!warnings.isEmpty()) throw new IOException(file + ": damaged image (" + warnings.toString().trim() + ")");
            } finally {
                reader.dispose();
            }
        } catch (IOException e) {
            throw e.getMessage() != null && e.getMessage().startsWith(file.toString()) ? e : new IOException(file + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            // ImageIO reports some corrupt streams (and CMYK JPEGs) with unchecked exceptions.
            throw new IOException(file + ": cannot decode (" + e + ")", e);
        }
        return toRgb(image);
    }

    static RgbImage toRgb(BufferedImage image) {
        int w = image.getWidth(), h = image.getHeight();
        RgbImage out = RgbImage.blank(w, h);
        Raster raster = image.getRaster();
        int bands = raster.getNumBands();
        boolean direct = !(image.getColorModel() instanceof IndexColorModel);
        if (direct && (bands == 1 || bands == 2)) {
            // Grey (with or without alpha): read samples, not getRGB, which would apply a gamma conversion.
            double max = (1L << image.getColorModel().getComponentSize(0)) - 1;
            float[] grey = new float[w * h];
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) grey[y * w + x] = (float) (raster.getSample(x, y, 0) / max);
            }
            return new RgbImage(w, h, new float[][] {grey, grey, grey});
        }
        if (direct && image.getColorModel().getComponentSize(0) > 8) {
            double max = (1L << image.getColorModel().getComponentSize(0)) - 1;
            for (int c = 0; c < 3; c++) {
                for (int y = 0; y < h; y++) {
                    for (int x = 0; x < w; x++) out.planes()[c][y * w + x] = (float) (raster.getSample(x, y, c) / max);
                }
            }
            return out;
        }
        int[] argb = image.getRGB(0, 0, w, h, null, 0, w);
        boolean grey = true;
        for (int i = 0; i < argb.length && grey; i++) grey = ((argb[i] >> 16) & 0xff) == (argb[i] & 0xff) && ((argb[i] >> 8) & 0xff) == (argb[i] & 0xff);
        if (grey) {
            // A grey picture stored in colour: one plane for the three channels (see RgbImage#sharedGrey).
            byte[] levels = new byte[argb.length];
            for (int i = 0; i < argb.length; i++) levels[i] = (byte) argb[i];
            return RgbImage.fromGrey(levels, w, h);
        }
        for (int i = 0; i < argb.length; i++) {
            out.planes()[0][i] = ((argb[i] >> 16) & 0xff) / 255f;
            out.planes()[1][i] = ((argb[i] >> 8) & 0xff) / 255f;
            out.planes()[2][i] = (argb[i] & 0xff) / 255f;
        }
        return out;
    }
}
