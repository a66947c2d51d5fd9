package org.ibot4j.trainer.eval.viz;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * The leading principal components of a set of feature vectors: eigenvectors of their covariance
 * (divided by n - 1) by subspace iteration with a Rayleigh-Ritz step, so that only a few components
 * of a wide covariance (768 x 768 for ViT-B) are ever decomposed. Signs are fixed so that each
 * component's largest-magnitude entry is positive.
 *
 * @param mean       the rows' mean
 * @param components unit vectors, {@code components[i]} the i-th direction of largest variance
 * @param variances  the variance along each component, descending
 */
public record Pca(double[] mean, double[][] components, double[] variances) {
    private static final int EXTRA = 8, MAX_ITERATIONS = 2000;
    private static final double TOLERANCE = 1e-9;

    /** The first {@code k} principal components of {@code rows} (each of the same length, at least two rows). */
    public static Pca fit(float[][] rows, int k) {
        if (rows.length < 2) throw new IllegalArgumentException("PCA needs at least two rows, got " + rows.length);
        int d = rows[0].length;
        if (k < 1 || k > d) throw new IllegalArgumentException("PCA of " + d + "-dimensional rows cannot have " + k + " components");
        double[] mean = new double[d];
        for (float[] row : rows) {
            if (row.length != d) throw new IllegalArgumentException("rows of different lengths: " + row.length + " and " + d);
            for (int j = 0; j < d; j++) mean[j] += row[j];
        }
        for (int j = 0; j < d; j++) mean[j] /= rows.length;
        double[][] covariance = covariance(rows, mean);
        return topEigen(covariance, k, mean);
    }

    /** Coordinates of {@code row} along each component. */
    public double[] project(float[] row) {
        double[] out = new double[components.length];
        for (int i = 0; i < components.length; i++) {
            double sum = 0;
            for (int j = 0; j < mean.length; j++) sum += (row[j] - mean[j]) * components[i][j];
            out[i] = sum;
        }
        return out;
    }

    static double[][] covariance(float[][] rows, double[] mean) {
        int d = mean.length;
        double[][] c = new double[d][d];
        double[] centred = new double[d];
        for (float[] row : rows) {
            for (int j = 0; j < d; j++) centred[j] = row[j] - mean[j];
            for (int i = 0; i < d; i++) {
                double ci = centred[i];
                double[] out = c[i];
                for (int j = i; j < d; j++) out[j] += ci * centred[j];
            }
        }
        for (int i = 0; i < d; i++) {
            for (int j = i; j < d; j++) {
                c[i][j] /= rows.length - 1;
                c[j][i] = c[i][j];
            }
        }
        return c;
    }

    /** The k leading eigenpairs of a symmetric positive semi-definite matrix. */
    static Pca topEigen(double[][] c, int k, double[] mean) {
        int d = c.length, b = Math.min(d, k + EXTRA);
        double[][] q = new double[b][d];  // rows: an orthonormal basis of the current subspace
        SplittableRandom random = new SplittableRandom(20240611L);
        for (double[] row : q) for (int j = 0; j < d; j++) row[j] = random.nextGaussian();
        orthonormalise(q);
        double[][] ritz = null;
        double[] values = null;
        for (int iteration = 0; iteration < MAX_ITERATIONS; iteration++) {
            double[][] z = new double[b][];
            for (int i = 0; i < b; i++) z[i] = times(c, q[i]);
            double[][] t = new double[b][b];
            for (int i = 0; i < b; i++) for (int j = 0; j < b; j++) t[i][j] = dot(q[i], z[j]);
            for (int i = 0; i < b; i++) for (int j = i + 1; j < b; j++) t[i][j] = t[j][i] = (t[i][j] + t[j][i]) / 2;
            JacobiEigen.Result small = JacobiEigen.of(t);
            values = small.values();
            ritz = combine(small.vectors(), q);
            double[][] images = combine(small.vectors(), z);  // C times each Ritz vector
            double worst = 0;
            for (int i = 0; i < k; i++) {
                double r = 0;
                for (int j = 0; j < d; j++) {
                    double e = images[i][j] - values[i] * ritz[i][j];
                    r += e * e;
                }
                worst = Math.max(worst, Math.sqrt(r));
            }
            if (worst <= TOLERANCE * Math.max(values[0], Double.MIN_NORMAL)) break;
            q = images;
            orthonormalise(q);
        }
        double[][] components = new double[k][];
        double[] variances = new double[k];
        for (int i = 0; i < k; i++) {
            components[i] = normalisedWithSign(ritz[i]);
            variances[i] = Math.max(0, values[i]);
        }
        return new Pca(mean, components, variances);
    }

    private static double[][] combine(double[][] coefficients, double[][] basis) {
        int d = basis[0].length;
        double[][] out = new double[coefficients.length][d];
        for (int i = 0; i < coefficients.length; i++) {
            for (int m = 0; m < basis.length; m++) {
                double w = coefficients[i][m];
                for (int j = 0; j < d; j++) out[i][j] += w * basis[m][j];
            }
        }
        return out;
    }

    /** Modified Gram-Schmidt over the rows; a row that vanishes (rank-deficient input) is replaced by a fresh unit vector. */
    private static void orthonormalise(double[][] rows) {
        int d = rows[0].length;
        for (int i = 0; i < rows.length; i++) {
            for (int attempt = 0; ; attempt++) {
                for (int m = 0; m < i; m++) {
                    double p = dot(rows[i], rows[m]);
                    for (int j = 0; j < d; j++) rows[i][j] -= p * rows[m][j];
                }
                double norm = Math.sqrt(dot(rows[i], rows[i]));
                if (norm > 1e-12 || attempt > d) {
                    for (int j = 0; j < d; j++) rows[i][j] /= norm;
                    break;
                }
                Arrays.fill(rows[i], 0);
                rows[i][(i + attempt) % d] = 1;
            }
        }
    }

    private static double[] normalisedWithSign(double[] v) {
        double norm = Math.sqrt(dot(v, v)), largest = 0;
        for (double x : v) if (Math.abs(x) > Math.abs(largest)) largest = x;
        double scale = (largest < 0 ? -1 : 1) / norm;
        double[] out = new double[v.length];
        for (int j = 0; j < v.length; j++) out[j] = v[j] * scale;
        return out;
    }

    private static double[] times(double[][] m, double[] v) {
        double[] out = new double[m.length];
        for (int i = 0; i < m.length; i++) out[i] = dot(m[i], v);
        return out;
    }

    private static double dot(double[] a, double[] b) {
        double sum = 0;
        for (int i = 0; i < a.length; i++) sum += a[i] * b[i];
        return sum;
    }
}
