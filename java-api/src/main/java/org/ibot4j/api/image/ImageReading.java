package org.ibot4j.api.image;

import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

/**
 * Images through the JDK's ImageIO (JPEG, PNG, BMP, GIF) as {@link Pixels}: grey replicated to three
 * channels (one shared plane), 16-bit samples scaled to [0, 1], palettes expanded, alpha dropped (as
 * PIL's {@code convert("RGB")}). A decoder warning (a truncated JPEG) is a failure, not a half-grey image.
 */
public final class ImageReading {
    /**
     * The most pixels an image may declare: PIL's decompression-bomb limit (2 x MAX_IMAGE_PIXELS), which
     * the official pipeline inherits. A larger header is refused before any pixel is decoded.
     */
    public static final long MAX_PIXELS = 178_956_970L;

    /**
     * The longest side may be at most this many times the shorter one. A square view of a 1 x 1,000,000
     * strip sees a millionth of it, and resizing its shorter side to the view's size multiplies the pixels
     * by that size: such files are refused from their header, as decompression bombs are.
     */
    public static final int MAX_ASPECT_RATIO = 100;

    /**
     * Why four-channel JPEGs are refused on every path: PIL, libjpeg-turbo and ImageIO turn CMYK and YCCK
     * into three different sets of RGB colours, so features would depend on which decoder read the file.
     */
    public static final String CMYK_REFUSED = "a CMYK or YCCK JPEG; ibot4j reads RGB and grey JPEGs only, because decoders disagree on "
            + "CMYK colours (convert it to RGB first, e.g. with ImageMagick: convert in.jpg -colorspace sRGB out.jpg)";

    private ImageReading() {}

    /** Decodes an image file; every failure names the file and why. */
    public static Pixels decode(Path file) throws IOException {
        if (!Files.isRegularFile(file)) throw new IOException(file + ": not a regular file");
        try (ImageInputStream in = ImageIO.createImageInputStream(file.toFile())) {
            return decode(in, file.toString());
        }
    }

    /** Decodes an encoded image in memory (JPEG, PNG, BMP, GIF); {@code name} goes into the messages. */
    public static Pixels decode(byte[] encoded, String name) throws IOException {
        try (ImageInputStream in = ImageIO.createImageInputStream(new ByteArrayInputStream(encoded))) {
            return decode(in, name);
        }
    }

    /** Refuses a header that declares no pixels, more than {@link #MAX_PIXELS}, or sides further apart than {@link #MAX_ASPECT_RATIO}. */
    public static void checkPixels(String name, int width, int height) throws IOException {
        if (width <= 0 || height <= 0) throw new IOException(name + ": " + width + " x " + height + " pixels: an empty image");
        if ((long) width * height > MAX_PIXELS) {
            throw new IOException(name + ": " + width + " x " + height + " pixels is more than the "
                    + MAX_PIXELS + " allowed (a decompression bomb, or an image to downscale first)");
        }
        if (Math.max(width, height) > (long) MAX_ASPECT_RATIO * Math.min(width, height)) {
            throw new IOException(name + ": " + width + " x " + height + " pixels: one side is more than " + MAX_ASPECT_RATIO
                    + " times the other (a strip, not a picture; crop it into tiles first)");
        }
    }

    private static Pixels decode(ImageInputStream in, String name) throws IOException {
        BufferedImage image;
        try {
            if (in == null) throw new IOException(name + ": cannot open");
            Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
            if (!readers.hasNext()) throw new IOException(name + ": not an image in a supported format (JPEG, PNG, BMP, GIF)");
            ImageReader reader = readers.next();
            try {
                StringBuilder warnings = new StringBuilder();
                reader.addIIOReadWarningListener((source, warning) -> warnings.append(warning).append("; "));
                if (jpegComponents(in) == 4) throw new IOException(name + ": " + CMYK_REFUSED);
                reader.setInput(in, true, true);
                checkPixels(name, reader.getWidth(0), reader.getHeight(0));
                image = reader.read(0);
                if (!warnings.isEmpty()) throw new IOException(name + ": damaged image (" + warnings.toString().trim() + ")");
            } finally {
                reader.dispose();
            }
        } catch (IOException e) {
            throw e.getMessage() != null && e.getMessage().startsWith(name) ? e : new IOException(name + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            // ImageIO reports some corrupt streams (and CMYK JPEGs) with unchecked exceptions.
            throw new IOException(name + ": cannot decode (" + e + ")", e);
        }
        return pixels(image);
    }

    /**
     * The colour components a JPEG's frame header declares (1 grey, 3 YCbCr/RGB, 4 CMYK/YCCK), or 0 for
     * a stream that is not a JPEG or has no frame header; the stream is left where it was.
     */
    static int jpegComponents(ImageInputStream in) throws IOException {
        in.mark();
        try {
            if (in.read() != 0xFF || in.read() != 0xD8) return 0;
            for (;;) {
                int b = in.read();
                if (b < 0) return 0;
                if (b != 0xFF) continue;  // not at a marker: scan on
                int marker = in.read();
                while (marker == 0xFF) marker = in.read();
                if (marker < 0 || marker == 0xD9 || marker == 0xDA) return 0;  // end of image, or scan data before any frame
                if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) continue;  // markers without a length
                int length = (in.read() << 8) | in.read();
                if (length < 2) return 0;
                boolean frame = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
                if (frame) {
                    in.skipBytes(5);  // precision, height, width
                    int components = in.read();
                    return Math.max(components, 0);
                }
                in.skipBytes(length - 2);
            }
        } finally {
            in.reset();
        }
    }

    /** The pixels of a decoded image. */
    public static Pixels pixels(BufferedImage image) {
        int w = image.getWidth(), h = image.getHeight();
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
            return new Pixels(w, h, new float[][] {grey, grey, grey});
        }
        float[][] planes = {new float[w * h], new float[w * h], new float[w * h]};
        if (direct && image.getColorModel().getComponentSize(0) > 8) {
            double max = (1L << image.getColorModel().getComponentSize(0)) - 1;
            for (int c = 0; c < 3; c++) {
                for (int y = 0; y < h; y++) {
                    for (int x = 0; x < w; x++) planes[c][y * w + x] = (float) (raster.getSample(x, y, c) / max);
                }
            }
            return new Pixels(w, h, planes);
        }
        int[] argb = image.getRGB(0, 0, w, h, null, 0, w);
        boolean grey = true;
        for (int i = 0; i < argb.length && grey; i++) grey = ((argb[i] >> 16) & 0xff) == (argb[i] & 0xff) && ((argb[i] >> 8) & 0xff) == (argb[i] & 0xff);
        if (grey) {
            // A grey picture stored in colour: one plane for the three channels.
            float[] levels = new float[argb.length];
            for (int i = 0; i < argb.length; i++) levels[i] = (argb[i] & 0xff) / 255f;
            return new Pixels(w, h, new float[][] {levels, levels, levels});
        }
        for (int i = 0; i < argb.length; i++) {
            planes[0][i] = ((argb[i] >> 16) & 0xff) / 255f;
            planes[1][i] = ((argb[i] >> 8) & 0xff) / 255f;
            planes[2][i] = (argb[i] & 0xff) / 255f;
        }
        return new Pixels(w, h, planes);
    }
}
