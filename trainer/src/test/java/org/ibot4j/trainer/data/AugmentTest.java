package org.ibot4j.trainer.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class AugmentTest {
    static RgbImage random(int w, int h, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        RgbImage img = RgbImage.blank(w, h);
        for (float[] p : img.planes()) for (int i = 0; i < p.length; i++) p[i] = (float) r.nextDouble();
        return img;
    }

    @Test
    void flipMirrorsEveryRow() {
        RgbImage img = random(7, 5, 1), flipped = img.copy();
        Augment.flipHorizontal(flipped);
        for (int c = 0; c < 3; c++) for (int y = 0; y < 5; y++) for (int x = 0; x < 7; x++) {
            assertThat(flipped.get(c, x, y)).isEqualTo(img.get(c, 6 - x, y));
        }
    }

    @Test
    void grayscaleUsesTheStandardLumaWeights() {
        RgbImage img = RgbImage.blank(1, 1);
        img.planes()[0][0] = 1f;
        img.planes()[1][0] = 0.5f;
        img.planes()[2][0] = 0.25f;
        Augment.grayscale(img);
        double luma = 0.299 * 1 + 0.587 * 0.5 + 0.114 * 0.25;
        for (int c = 0; c < 3; c++) assertThat((double) img.planes()[c][0]).isCloseTo(luma, within(1e-6));
    }

    @Test
    void solarisationInvertsFrom128Up() {
        RgbImage img = RgbImage.blank(2, 1);
        for (float[] p : img.planes()) {
            p[0] = 127 / 255f;
            p[1] = 128 / 255f;
        }
        Augment.solarize(img);
        assertThat(img.planes()[0][0]).isEqualTo(127 / 255f);
        assertThat(img.planes()[0][1]).isCloseTo(1 - 128 / 255f, within(1e-7f));
    }

    @Test
    void randomResizedCropStaysInItsScaleAndRatioRanges() {
        SplittableRandom random = new SplittableRandom(3);
        int fallback = 0;
        for (int i = 0; i < 10_000; i++) {
            int[] b = Augment.randomResizedCropBox(224, 224, 0.25, 1.0, 3.0 / 4, 4.0 / 3, random);
            assertThat(b[0]).isBetween(0, 224 - b[2]);
            assertThat(b[1]).isBetween(0, 224 - b[3]);
            double area = (double) b[2] * b[3] / (224 * 224);
            double ratio = (double) b[3] / b[2];
            if (b[2] == 224 && b[3] == 224) fallback++;
            // Rounding the sides to whole pixels moves area and ratio by at most about one pixel's worth.
            assertThat(area).isBetween(0.25 - 0.01, 1.0);
            assertThat(ratio).isBetween(3.0 / 4 - 0.01, 4.0 / 3 + 0.01);
        }
        assertThat(fallback).isLessThan(100);
    }

    @Test
    void normalisationOfAConstantImageGivesTheConfiguredValues() {
        MultiCropAugmentation aug = new MultiCropAugmentation(MultiCropAugmentation.Options.published(0, 32, 16));
        RgbImage img = RgbImage.blank(40, 40);
        for (float[] p : img.planes()) Arrays.fill(p, 0.5f);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.JAVA_FLOAT, 3 * 32 * 32);
            aug.centre(img, 32, out, 0);
            float[] v = out.toArray(ValueLayout.JAVA_FLOAT);
            float[] mean = {0.485f, 0.456f, 0.406f}, std = {0.229f, 0.224f, 0.225f};
            for (int c = 0; c < 3; c++) {
                for (int i = 0; i < 32 * 32; i++) assertThat(v[c * 1024 + i]).isCloseTo((0.5f - mean[c]) / std[c], within(1e-5f));
            }
        }
    }

    @Test
    void bicubicResizeKeepsConstantsAndAveragesARampWhenShrinking() {
        RgbImage flat = RgbImage.blank(50, 30);
        for (float[] p : flat.planes()) Arrays.fill(p, 0.3f);
        RgbImage small = Augment.resizeBicubic(flat, 20, 11);
        for (float[] p : small.planes()) for (float v : p) assertThat(v).isCloseTo(0.3f, within(1e-6f));

        // A linear ramp f(x) = x / 99 shrunk 4x: away from the borders each output equals the ramp at
        // its pixel centre, since the (symmetric, normalised) filter preserves linear functions.
        RgbImage ramp = RgbImage.blank(100, 4);
        for (float[] p : ramp.planes()) for (int y = 0; y < 4; y++) for (int x = 0; x < 100; x++) p[y * 100 + x] = x / 99f;
        RgbImage out = Augment.resizeBicubic(ramp, 25, 4);
        for (int x = 3; x < 22; x++) {
            double centre = (x + 0.5) * 4 - 0.5;
            assertThat((double) out.get(0, x, 1)).isCloseTo(centre / 99, within(1e-5));
        }
    }

    @Test
    void colourAdjustmentsHitTheirEndPoints() {
        RgbImage img = random(6, 6, 4);
        RgbImage dark = img.copy();
        Augment.brightness(dark, 0);
        for (float[] p : dark.planes()) for (float v : p) assertThat(v).isZero();

        RgbImage grey = img.copy(), desaturated = img.copy();
        Augment.grayscale(grey);
        Augment.saturation(desaturated, 0);
        for (int c = 0; c < 3; c++) assertThat(desaturated.planes()[c]).containsExactly(grey.planes()[c], within(1e-6f));

        RgbImage flat = img.copy();
        Augment.contrast(flat, 0);
        float first = flat.planes()[0][0];
        for (float[] p : flat.planes()) for (float v : p) assertThat(v).isCloseTo(first, within(1e-6f));

        RgbImage red = RgbImage.blank(1, 1);
        red.planes()[0][0] = 1f;
        Augment.hue(red, 1.0 / 3);
        assertThat(new float[] {red.planes()[0][0], red.planes()[1][0], red.planes()[2][0]}).containsExactly(new float[] {0, 1, 0}, within(1e-6f));
        RgbImage same = img.copy();
        Augment.hue(same, 0);
        for (int c = 0; c < 3; c++) assertThat(same.planes()[c]).containsExactly(img.planes()[c], within(1e-6f));
    }

    @Test
    void blurKeepsConstantsAndTheMean() {
        RgbImage img = random(40, 40, 5);
        double before = mean(img.planes()[1]);
        Augment.gaussianBlur(img, 1.5);
        assertThat(mean(img.planes()[1])).isCloseTo(before, within(0.01));
        RgbImage flat = RgbImage.blank(10, 10);
        for (float[] p : flat.planes()) Arrays.fill(p, 0.7f);
        Augment.gaussianBlur(flat, 2.0);
        for (float[] p : flat.planes()) for (float v : p) assertThat(v).isCloseTo(0.7f, within(1e-6f));
    }

    private static double mean(float[] p) {
        double s = 0;
        for (float v : p) s += v;
        return s / p.length;
    }

    @Test
    void inPlaceOperationsChangeASharedGreyPlaneOnce() {
        byte[] levels = new byte[6 * 5];
        for (int i = 0; i < levels.length; i++) levels[i] = (byte) (40 + 7 * i);
        RgbImage shared = RgbImage.fromGrey(levels, 6, 5);
        assertThat(shared.sharedGrey()).isTrue();
        RgbImage separate = shared.copy();
        assertThat(separate.sharedGrey()).isFalse();
        for (RgbImage img : new RgbImage[] {shared, separate}) {
            Augment.flipHorizontal(img);
            Augment.brightness(img, 1.3);
            Augment.contrast(img, 0.7);
            Augment.gaussianBlur(img, 1.2);
            Augment.solarize(img);
        }
        assertThat(shared.planes()[0]).containsExactly(separate.planes()[0], within(1e-6f));
    }
}
