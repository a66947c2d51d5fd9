package org.ibot4j.trainer.data;

/** A 3-channel image as float planes in [0, 1], channel-major ({@code [c][y * width + x]}). */
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

    /** A grey image from unsigned bytes, replicated to three channels. */
    public static RgbImage fromGrey(byte[] pixels, int width, int height) {
        float[] grey = new float[width * height];
        for (int i = 0; i < grey.length; i++) grey[i] = (pixels[i] & 0xff) / 255f;
        return new RgbImage(width, height, new float[][] {grey, grey.clone(), grey.clone()});
    }

    /** An RGB image from interleaved unsigned bytes (R, G, B per pixel). */
    public static RgbImage fromInterleaved(byte[] rgb, int width, int height) {
        int n = width * height;
        float[] r = new float[n], g = new float[n], b = new float[n];
        float[] level = LEVELS;
        for (int i = 0, j = 0; i < n; i++, j += 3) {
            r[i] = level[rgb[j] & 0xff];
            g[i] = level[rgb[j + 1] & 0xff];
            b[i] = level[rgb[j + 2] & 0xff];
        }
        return new RgbImage(width, height, new float[][] {r, g, b});
    }

    public float get(int c, int x, int y) {
        return planes[c][y * width + x];
    }

    public RgbImage copy() {
        return new RgbImage(width, height, new float[][] {planes[0].clone(), planes[1].clone(), planes[2].clone()});
    }
}
