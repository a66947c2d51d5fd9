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

    /** Refuses a header that declares more than {@link #MAX_PIXELS}. */
    public static void checkPixels(String name, int width, int height) throws IOException {
        if ((long) width * height > MAX_PIXELS) {
            throw new IOException(name + ": " + width + " x " + height + " pixels is more than the "
                    + MAX_PIXELS + " allowed (a decompression bomb, or an image to downscale first)");
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
