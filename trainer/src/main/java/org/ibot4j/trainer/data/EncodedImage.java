package org.ibot4j.trainer.data;

import java.io.IOException;

/**
 * An image whose size is known before its pixels: the loader decides its crops from the size, then
 * asks for the smallest decode that still has every pixel those crops need (a JPEG's DCT scaling, as
 * PIL's draft mode does). Formats that cannot scale decode at full size.
 */
public interface EncodedImage {
    /** Full width, in pixels. */
    int width();

    /** Full height, in pixels. */
    int height();

    /** Whether {@link #decode} honours a denominator above 1. */
    boolean scalable();

    /**
     * The pixels at {@code 1 / denominator} of the full size (1, 2, 4 or 8; each side rounded up), or at
     * full size when the image is not {@link #scalable()}. Fails for a damaged image.
     */
    RgbImage decode(int denominator) throws IOException;

    /** An image already in memory. */
    static EncodedImage of(RgbImage image) {
        return new EncodedImage() {
            @Override public int width() { return image.width(); }
            @Override public int height() { return image.height(); }
            @Override public boolean scalable() { return false; }
            @Override public RgbImage decode(int denominator) { return image; }
        };
    }
}
