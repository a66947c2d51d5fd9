package org.ibot4j.api.image;

/**
 * An RGB image as three float planes in [0, 1], channel-major ({@code planes[c][y * width + x]}). A grey
 * image may hold one array as all three planes; treat the planes as read-only.
 *
 * @param width  pixels
 * @param height pixels
 * @param planes red, green and blue, {@code width * height} values each
 */
public record Pixels(int width, int height, float[][] planes) {
    /** Checks the shape. */
    public Pixels {
        if (width <= 0 || height <= 0) throw new IllegalArgumentException("an image needs pixels, got " + width + " x " + height);
        if (planes.length != 3) throw new IllegalArgumentException("need 3 planes, got " + planes.length);
        for (float[] p : planes) {
            if (p.length != width * height) throw new IllegalArgumentException("plane size " + p.length + " != " + width + "x" + height);
        }
    }
}
