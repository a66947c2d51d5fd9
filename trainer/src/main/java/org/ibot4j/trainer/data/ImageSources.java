package org.ibot4j.trainer.data;

import java.io.IOException;

/**
 * Guards around an {@link ImageSource} written by a user: an item that comes back null, empty or with
 * an exception is an unreadable item, named, which the loader skips with a warning as it skips a corrupt
 * file, instead of a NullPointerException that names nothing and ends the run.
 */
public final class ImageSources {
    private ImageSources() {}

    /** {@code source}, with every {@code load} and {@code open} result checked. */
    public static ImageSource checked(ImageSource source) {
        if (source instanceof Checked) return source;
        return new Checked(source);
    }

    /** {@code image} when it has pixels; otherwise an IOException naming {@code item}. */
    static RgbImage require(RgbImage image, String item) throws IOException {
        if (image == null) throw new IOException(item + ": the image source returned no image (null)");
        if (image.width() <= 0 || image.height() <= 0) {
            throw new IOException(item + ": the image source returned an empty image (" + image.width() + " x " + image.height() + " pixels)");
        }
        return image;
    }

    private record Checked(ImageSource source) implements ImageSource {
        @Override
        public int size() {
            return source.size();
        }

        @Override
        public int label(int index) {
            return source.label(index);
        }

        @Override
        public int numClasses() {
            return source.numClasses();
        }

        @Override
        public RgbImage load(int index) throws IOException {
            try {
                return require(source.load(index), describe(index));
            } catch (RuntimeException e) {
                throw new IOException(describe(index) + ": the image source failed (" + e + ")", e);
            }
        }

        @Override
        public EncodedImage open(int index) throws IOException {
            String item = describe(index);
            EncodedImage encoded;
            int width, height;
            try {
                // A source without its own open() wraps load(): a null image shows when its size is asked.
                encoded = source.open(index);
                if (encoded == null) throw new IOException(item + ": the image source returned no image (null)");
                width = encoded.width();
                height = encoded.height();
            } catch (NullPointerException e) {
                throw new IOException(item + ": the image source returned no image (null)", e);
            } catch (RuntimeException e) {
                throw new IOException(item + ": the image source failed (" + e + ")", e);
            }
            if (width <= 0 || height <= 0) {
                throw new IOException(item + ": the image source returned an empty image (" + width + " x " + height + " pixels)");
            }
            return new EncodedImage() {
                @Override public int width() { return encoded.width(); }
                @Override public int height() { return encoded.height(); }
                @Override public boolean scalable() { return encoded.scalable(); }
                @Override public RgbImage decode(int denominator) throws IOException {
                    try {
                        return require(encoded.decode(denominator), item);
                    } catch (RuntimeException e) {
                        throw new IOException(item + ": the image source failed (" + e + ")", e);
                    }
                }
            };
        }

        @Override
        public String describe(int index) {
            try {
                String d = source.describe(index);
                return d == null ? "item " + index : d;
            } catch (RuntimeException e) {
                return "item " + index;
            }
        }

        @Override
        public String identify(int index) {
            return source.identify(index);
        }
    }
}
