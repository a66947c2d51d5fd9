package org.ibot4j.trainer.data;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The fast renderer gives what the plain reference operations of {@link Augment} give for the same
 * plans: every crop of DataAugmentationiBOT's three kinds, on noise and on a real (upscaled) image.
 */
class CropRendererTest {
    static final MultiCropAugmentation AUG = new MultiCropAugmentation(MultiCropAugmentation.Options.published(10, 64, 24));

    /** Crop, resize, flip, then the finishing operations in DataAugmentationiBOT's order, with Augment's reference code. */
    static float[] reference(RgbImage image, CropPlan plan, MultiCropAugmentation aug) {
        RgbImage crop = Augment.resizeBicubic(Augment.crop(image, plan.top(), plan.left(), plan.height(), plan.width()), plan.size(), plan.size());
        if (plan.flip()) Augment.flipHorizontal(crop);
        if (plan.jitter() != null) MultiCropAugmentation.applyJitter(crop, plan.jitter());
        if (plan.grey()) Augment.grayscale(crop);
        if (plan.blurRadius() > 0) Augment.gaussianBlur(crop, plan.blurRadius());
        if (plan.solarize()) Augment.solarize(crop);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.JAVA_FLOAT, 3L * plan.size() * plan.size());
            aug.write(crop, out, 0);
            return out.toArray(ValueLayout.JAVA_FLOAT);
        }
    }

    static float[] fast(RgbImage image, int denominator, CropPlan plan, MultiCropAugmentation aug) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.JAVA_FLOAT, 3L * plan.size() * plan.size());
            aug.render(image, denominator, plan, out, 0);
            return out.toArray(ValueLayout.JAVA_FLOAT);
        }
    }

    @Test
    void everyCropKindMatchesTheReferenceOnNoiseAndOnAPhotograph() throws IOException {
        RgbImage noise = AugmentTest.random(90, 70, 11);
        RgbImage fashion = Augment.resizeBicubic(RgbImage.fromGrey(MultiCropLoaderTest.fashionTest().images()[3], 28, 28), 100, 100);
        // A colour version of the real image, so that hue and saturation have something to act on.
        for (int i = 0; i < fashion.planes()[0].length; i++) {
            fashion.planes()[1][i] *= 0.8f;
            fashion.planes()[2][i] = 1 - fashion.planes()[2][i];
        }
        SplittableRandom random = new SplittableRandom(5);
        int crops = 0;
        double worst = 0, sum = 0;
        long values = 0, flippedSolarisation = 0;
        // A grey image held as one shared plane takes the one-plane path.
        RgbImage grey = Augment.resizeBicubic(RgbImage.fromGrey(MultiCropLoaderTest.fashionTest().images()[4], 28, 28), 90, 110);
        grey = new RgbImage(grey.width(), grey.height(), new float[][] {grey.planes()[0], grey.planes()[0], grey.planes()[0]});
        assertThat(grey.sharedGrey()).isTrue();
        for (RgbImage image : new RgbImage[] {noise, fashion, grey}) {
            for (int k = 0; k < 40; k++) {
                CropPlan plan = k % 3 == 2 ? AUG.planLocal(image.width(), image.height(), random)
                        : AUG.planGlobal(image.width(), image.height(), k % 3, random);
                float[] want = reference(image, plan, AUG), got = fast(image, 1, plan, AUG);
                for (int i = 0; i < want.length; i++) {
                    double d = Math.abs(want[i] - got[i]);
                    // A value within rounding of 128/255 may solarise in one implementation and not the other.
                    if (plan.solarize() && d > 0.5) { flippedSolarisation++; continue; }
                    worst = Math.max(worst, d);
                    sum += d;
                    values++;
                }
                crops++;
            }
        }
        // Normalised units (1/std ~ 4.4 per unit of [0, 1]): float rounding of the different loop orders only.
        assertThat(worst).as("largest difference over %d crops", crops).isLessThan(2e-4);
        assertThat(sum / values).isLessThan(1e-5);
        assertThat(flippedSolarisation).isLessThan(values / 10_000 + 1);
    }
}
