package org.ibot4j.trainer.eval.viz;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.data.Offset.offset;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** PCA against closed forms: a matrix built from known eigenvectors, and points whose covariance is known exactly. */
class PcaTest {
    /** The 4 x 4 Hadamard matrix / 2: orthonormal rows, so C = H^T diag(l) H has eigenvectors H's rows. */
    private static final double[][] H = {
        {0.5, 0.5, 0.5, 0.5}, {0.5, -0.5, 0.5, -0.5}, {0.5, 0.5, -0.5, -0.5}, {0.5, -0.5, -0.5, 0.5}};

    @Test
    void eigenvectorsOfAMatrixBuiltFromThem() {
        double[] lambda = {0.5, 7, 3, 1};  // H's rows in the order 2, 3, 4, 1 of variance
        double[][] c = new double[4][4];
        for (int k = 0; k < 4; k++) for (int i = 0; i < 4; i++) for (int j = 0; j < 4; j++) c[i][j] += lambda[k] * H[k][i] * H[k][j];
        Pca pca = Pca.topEigen(c, 3, new double[4]);
        assertThat(pca.variances()).containsExactly(new double[] {7, 3, 1}, offset(1e-12));
        int[] expectedRow = {1, 2, 3};
        for (int k = 0; k < 3; k++) assertParallel(pca.components()[k], H[expectedRow[k]]);
        // Jacobi alone recovers all four.
        JacobiEigen.Result full = JacobiEigen.of(c);
        assertThat(full.values()).containsExactly(new double[] {7, 3, 1, 0.5}, offset(1e-12));
        assertParallel(full.vectors()[3], H[0]);
    }

    /**
     * The 16 points sum_k s_k e_k h_k over every sign pattern e in {-1, 1}^4: their mean is 0 and their
     * covariance (divided by n - 1 = 15) is exactly (16 / 15) sum_k s_k^2 h_k h_k^T.
     */
    @Test
    void principalAxesOfPointsWithAKnownCovariance() {
        double[] s = {1.0, 3.0, 0.5, 2.0};
        float[][] rows = new float[16][4];
        for (int pattern = 0; pattern < 16; pattern++) {
            for (int k = 0; k < 4; k++) {
                double sign = (pattern >> k & 1) == 0 ? -1 : 1;
                for (int j = 0; j < 4; j++) rows[pattern][j] += (float) (s[k] * sign * H[k][j]);
            }
        }
        Pca pca = Pca.fit(rows, 3);
        assertThat(pca.mean()).containsExactly(new double[4], offset(1e-7));
        assertThat(pca.variances()).containsExactly(new double[] {9 * 16 / 15.0, 4 * 16 / 15.0, 16 / 15.0}, offset(1e-5));
        assertParallel(pca.components()[0], H[1]);
        assertParallel(pca.components()[1], H[3]);
        assertParallel(pca.components()[2], H[0]);
        // Signs: the largest-magnitude entry is positive; the projection is the coordinate along the axis.
        for (double[] v : pca.components()) assertThat(Arrays.stream(v).map(Math::abs).max().orElseThrow())
                .isEqualTo(Arrays.stream(v).max().orElseThrow());
        double[] projected = pca.project(rows[0b0010]);  // e_1 = +1: s_1 = 3 along h_1
        assertThat(Math.abs(projected[0])).isCloseTo(3.0, offset(1e-5));
    }

    @Test
    void wideRandomFeaturesGiveEigenpairsOfTheirCovariance() {
        SplittableRandom random = new SplittableRandom(3);
        int n = 300, d = 96;
        float[][] rows = new float[n][d];
        for (float[] row : rows) {
            double a = random.nextGaussian() * 4, b = random.nextGaussian() * 2;  // two strong directions plus noise
            for (int j = 0; j < d; j++) row[j] = (float) (a * Math.sin(j) + b * Math.cos(3 * j) + random.nextGaussian() * 0.5);
        }
        Pca pca = Pca.fit(rows, 3);
        double[][] c = Pca.covariance(rows, pca.mean());
        for (int k = 0; k < 3; k++) {
            double[] v = pca.components()[k];
            double residual = 0;
            for (int i = 0; i < d; i++) {
                double cv = 0;
                for (int j = 0; j < d; j++) cv += c[i][j] * v[j];
                residual += Math.pow(cv - pca.variances()[k] * v[i], 2);
            }
            assertThat(Math.sqrt(residual)).as("|C v - l v| of component %d", k).isLessThan(1e-6 * pca.variances()[0]);
            for (int m = 0; m < k; m++) assertThat(dot(v, pca.components()[m])).isCloseTo(0, offset(1e-9));
            assertThat(dot(v, v)).isCloseTo(1, offset(1e-12));
        }
        assertThat(pca.variances()[0]).isGreaterThan(pca.variances()[1]).isGreaterThan(0);
        // The variances are the largest: no other direction of the full decomposition beats the third.
        double[] all = JacobiEigen.of(c).values();
        assertThat(pca.variances()).containsExactly(new double[] {all[0], all[1], all[2]}, offset(1e-8 * all[0]));
    }

    @Test
    void refusesWhatItCannotFit() {
        assertThatThrownBy(() -> Pca.fit(new float[][] {{1, 2}}, 1)).hasMessageContaining("at least two rows");
        assertThatThrownBy(() -> Pca.fit(new float[][] {{1, 2}, {3, 4}}, 3)).hasMessageContaining("cannot have 3 components");
        assertThatThrownBy(() -> Pca.fit(new float[][] {{1, 2}, {3}}, 1)).hasMessageContaining("different lengths");
    }

    private static void assertParallel(double[] actual, double[] expected) {
        assertThat(Math.abs(dot(actual, expected))).as("|cos| between %s and %s", Arrays.toString(actual),
                Arrays.toString(expected)).isCloseTo(1.0, offset(1e-9));
    }

    private static double dot(double[] a, double[] b) {
        double sum = 0;
        for (int i = 0; i < a.length; i++) sum += a[i] * b[i];
        return sum;
    }
}
