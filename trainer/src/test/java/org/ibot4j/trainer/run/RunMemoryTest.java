package org.ibot4j.trainer.run;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The up-front memory estimate against peak resident memory measured with /usr/bin/time -v on this
 * machine (2026-12-06, 2 steps; docs/reliability.md): the demo recipe 0.60 GiB (632,260 KiB), vit_tiny
 * with the small-image defaults 1.19 GiB (1,248,568 KiB). The estimate only refuses runs that cannot fit,
 * so it must not exceed what a run really takes, and it must grow with what makes runs large.
 */
class RunMemoryTest {
    private static final long DEMO_PEAK = 632_260L << 10, TINY_PEAK = 1_248_568L << 10;

    static PretrainSetup setup(Map<String, Object> options) {
        return PretrainSetup.of(new PretrainOptions().given(options), 60_000, new int[] {28, 28});
    }

    @Test
    void theEstimateStaysBelowTheMeasuredPeakAndNearIt() throws IOException {
        PretrainSetup demo = setup(PretrainOptions.demoRecipe());
        PretrainSetup tiny = setup(Map.of("arch", "vit_tiny"));
        long demoEstimate = estimate(demo), tinyEstimate = estimate(tiny);
        System.out.printf("estimate demo %d MiB (measured %d), vit_tiny %d MiB (measured %d)%n", demoEstimate >> 20, DEMO_PEAK >> 20,
                tinyEstimate >> 20, TINY_PEAK >> 20);
        assertThat(demoEstimate).isBetween(DEMO_PEAK / 2, DEMO_PEAK);
        assertThat(tinyEstimate).isBetween(TINY_PEAK / 2, TINY_PEAK);
    }

    @Test
    void itGrowsWithTheBatchAndTheCrops() throws IOException {
        PretrainSetup demo = setup(PretrainOptions.demoRecipe());
        Map<String, Object> doubled = new java.util.HashMap<>(PretrainOptions.demoRecipe());
        doubled.put("batch_size_per_gpu", 128);
        long growth = estimate(setup(doubled)) - estimate(demo);
        assertThat(growth).isPositive();
        Map<String, Object> published = Map.of("arch", "vit_small", "global_crop_size", 224, "local_crop_size", 96, "patch_size", 16);
        assertThat(estimate(setup(published))).isGreaterThan(8L << 30);
    }

    private static long estimate(PretrainSetup s) {
        return RunMemory.estimateBytes(s.model(), s.augmentation().options(), s.options().batchSizePerGpu);
    }
}
