package org.ibot4j.trainer.eval.viz;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Foreground from the first component, whatever its sign, and RGB only for the foreground. */
class PatchPcaTest {
    @Test
    void anObjectInTheMiddleIsForegroundAndTheBorderIsBlack() {
        int grid = 6, dim = 16;
        SplittableRandom random = new SplittableRandom(11);
        float[][][] tokens = new float[3][grid * grid][dim];
        for (int image = 0; image < 3; image++) {
            for (int p = 0; p < grid * grid; p++) {
                boolean object = inObject(p, grid);
                for (int j = 0; j < dim; j++) {
                    // Background and object sit far apart along dimension 0; the object varies along 1..3.
                    double base = object ? (j == 0 ? 10 : j <= 3 ? random.nextGaussian() : 0) : (j == 0 ? -10 : 0);
                    tokens[image][p][j] = (float) (base + 0.01 * random.nextGaussian());
                }
            }
        }
        for (float sign : new float[] {1, -1}) {  // the answer must not depend on the first component's sign
            float[][][] flipped = new float[3][grid * grid][];
            for (int i = 0; i < 3; i++) for (int p = 0; p < grid * grid; p++) {
                flipped[i][p] = tokens[i][p].clone();
                flipped[i][p][0] *= sign;
            }
            PatchPca pca = PatchPca.of(flipped, grid, grid, 0.5);
            for (int i = 0; i < 3; i++) {
                for (int p = 0; p < grid * grid; p++) {
                    assertThat(pca.foreground()[i][p]).as("image %d patch %d", i, p).isEqualTo(inObject(p, grid));
                    if (!inObject(p, grid)) assertThat(pca.rgb()[i][p]).containsExactly(0f, 0f, 0f);
                    assertThat(pca.first()[i][p]).isBetween(0f, 1f);
                }
            }
            // Each channel spans [0, 1] over the foreground.
            for (int c = 0; c < 3; c++) {
                float lo = 1, hi = 0;
                for (int i = 0; i < 3; i++) for (int p = 0; p < grid * grid; p++) {
                    if (!pca.foreground()[i][p]) continue;
                    lo = Math.min(lo, pca.rgb()[i][p][c]);
                    hi = Math.max(hi, pca.rgb()[i][p][c]);
                }
                assertThat(lo).isEqualTo(0f);
                assertThat(hi).isEqualTo(1f);
            }
        }
    }

    private static boolean inObject(int patch, int grid) {
        int row = patch / grid, col = patch % grid;
        return row >= 2 && row <= 3 && col >= 1 && col <= 4;
    }
}
