package org.ibot4j.trainer.eval.viz;

/**
 * Viridis, matplotlib's default colormap (the one official visualize_attention.py gets from
 * plt.imsave), as nine evenly spaced stops with linear interpolation between them.
 */
final class Colormap {
    private static final int[] STOPS = {0x440154, 0x472D7B, 0x3B528B, 0x2C728E, 0x21908C, 0x27AD81, 0x5DC863, 0xAADC32, 0xFDE725};

    private Colormap() {}

    /** The packed RGB colour of {@code t} in [0, 1] (clamped; NaN is the low end). */
    static int viridis(double t) {
        double x = Double.isNaN(t) ? 0 : Math.min(1, Math.max(0, t)) * (STOPS.length - 1);
        int i = Math.min(STOPS.length - 2, (int) x);
        double f = x - i;
        int a = STOPS[i], b = STOPS[i + 1];
        return mix(a >> 16 & 0xff, b >> 16 & 0xff, f) << 16 | mix(a >> 8 & 0xff, b >> 8 & 0xff, f) << 8 | mix(a & 0xff, b & 0xff, f);
    }

    private static int mix(int a, int b, double f) {
        return (int) Math.round(a + (b - a) * f);
    }
}
