package org.ibot4j.trainer.data;

import org.ibot4j.api.image.Pixels;

/**
 * A 3-channel image as float planes in [0, 1], channel-major ({@code [c][y * width + x]}). A grey
 * image may hold one array as all three planes ({@link #sharedGrey()}), so that crops of it are
 * computed once, not three times: treat a decoded image's planes as read-only, {@link #copy()} to change them.
 */
public record RgbImage(int width, int height, float[][] planes) {
    public RgbImage {
        if (planes.length != 3) throw new IllegalArgumentException("need 3 planes, got " + planes.length);
        for (float[] p : planes) {
            if (p.length != width * height) throw new IllegalArgumentException("plane size " + p.length + " != " + width + "x" + height);
        }
    }

    /** v / 255f for every byte value v. */
    private static final float[] LEVELS = new float[256];

    static {
        for (int v = 0; v < 256; v++) LEVELS[v] = v / 255f;
    }

    public static RgbImage blank(int width, int height) {
        return new RgbImage(width, height, new float[][] {new float[width * height], new float[width * height], new float[width * height]});
    }

    /** A grey image from unsigned bytes: one plane shared by the three channels. */
    public static RgbImage fromGrey(byte[] pixels, int width, int height) {
        float[] grey = new float[width * height];
        float[] level = LEVELS;
        for (int i = 0; i < grey.length; i++) grey[i] = level[pixels[i] & 0xff];
        return new RgbImage(width, height, new float[][] {grey, grey, grey});
    }

    /** Whether the three channels are one shared array (a grey image: every operation needs doing once). */
    public boolean sharedGrey() {
        return planes[0] == planes[1] && planes[1] == planes[2];
    }

    /**
     * An RGB image from RGBX pixels read as little-endian ints (R in the lowest byte); a {@link #sharedGrey()} one when every pixel has R = G = B.
     */
    public static RgbImage fromRgbx(int[] rgbx, int width, int height) {
        int n = width * height;
        int difference = 0;
        for (int i = 0; i < n; i++) difference |= (rgbx[i] ^ (rgbx[i] >>> 8)) & 0xFFFF;
        float[] r = new float[n];
        for (int i = 0; i < n; i++) r[i] = (rgbx[i] & 0xff) / 255f;
        if (difference == 0) return new RgbImage(width, height, new float[][] {r, r, r});
        float[] g = new float[n], b = new float[n];
        for (int i = 0; i < n; i++) g[i] = ((rgbx[i] >>> 8) & 0xff) / 255f;
        for (int i = 0; i < n; i++) b[i] = ((rgbx[i] >>> 16) & 0xff) / 255f;
        return new RgbImage(width, height, new float[][] {r, g, b});
    }

    /** The same arrays as the library's image type (no copy). */
    public Pixels pixels() {
        return new Pixels(width, height, planes);
    }

    /** The library's image type over the same arrays (no copy). */
    public static RgbImage of(Pixels pixels) {
        return new RgbImage(pixels.width(), pixels.height(), pixels.planes());
    }

    public float get(int c, int x, int y) {
        return planes[c][y * width + x];
    }

    public RgbImage copy() {
        return new RgbImage(width, height, new float[][] {planes[0].clone(), planes[1].clone(), planes[2].clone()});
    }
}
