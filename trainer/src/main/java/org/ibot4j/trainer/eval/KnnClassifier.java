package org.ibot4j.trainer.eval;

import java.util.Arrays;
import java.util.stream.IntStream;

/**
 * The DINO/iBOT weighted k-NN protocol: L2-normalised features, cosine similarity to every training
 * feature, the k nearest vote with weight exp(sim / T), top-1 and top-5 from the summed class scores.
 */
public final class KnnClassifier {
    public record Accuracy(double top1, double top5) {}

    private final float[][] train;
    private final int[] trainLabels;
    private final int numClasses;
    private final int k;
    private final double temperature;

    public KnnClassifier(float[][] trainFeatures, int[] trainLabels, int numClasses, int k, double temperature) {
        if (trainFeatures.length != trainLabels.length || trainFeatures.length < k) {
            throw new IllegalArgumentException("need as many labels as features and at least k=" + k + " training samples");
        }
        this.train = normalised(trainFeatures);
        this.trainLabels = trainLabels;
        this.numClasses = numClasses;
        this.k = k;
        this.temperature = temperature;
    }

    public Accuracy evaluate(float[][] testFeatures, int[] testLabels) {
        float[][] test = normalised(testFeatures);
        // Queries are independent: spread them over the cores.
        int[] rank = IntStream.range(0, test.length).parallel().map(i -> {
            double[] scores = classScores(test[i]);
            int label = testLabels[i];
            int better = 0;
            for (int c = 0; c < numClasses; c++) {
                if (scores[c] > scores[label] || (scores[c] == scores[label] && c < label)) better++;
            }
            return better;
        }).toArray();
        int top1 = 0, top5 = 0;
        for (int better : rank) {
            if (better == 0) top1++;
            if (better < 5) top5++;
        }
        return new Accuracy(100.0 * top1 / test.length, 100.0 * top5 / test.length);
    }

    private double[] classScores(float[] query) {
        // Keep the k largest similarities with a small insertion-sorted buffer.
        float[] bestSim = new float[k];
        int[] bestIdx = new int[k];
        Arrays.fill(bestSim, Float.NEGATIVE_INFINITY);
        for (int j = 0; j < train.length; j++) {
            float sim = dot(query, train[j]);
            if (sim <= bestSim[k - 1]) continue;
            int pos = k - 1;
            while (pos > 0 && bestSim[pos - 1] < sim) {
                bestSim[pos] = bestSim[pos - 1];
                bestIdx[pos] = bestIdx[pos - 1];
                pos--;
            }
            bestSim[pos] = sim;
            bestIdx[pos] = j;
        }
        double[] scores = new double[numClasses];
        for (int n = 0; n < k; n++) scores[trainLabels[bestIdx[n]]] += Math.exp(bestSim[n] / temperature);
        return scores;
    }

    private static float dot(float[] a, float[] b) {
        // Four independent sums let the CPU overlap the multiply-adds (one sum is latency-bound).
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        int i = 0;
        for (; i + 3 < a.length; i += 4) {
            s0 += a[i] * b[i];
            s1 += a[i + 1] * b[i + 1];
            s2 += a[i + 2] * b[i + 2];
            s3 += a[i + 3] * b[i + 3];
        }
        for (; i < a.length; i++) s0 += a[i] * b[i];
        return (s0 + s1) + (s2 + s3);
    }

    private static float[][] normalised(float[][] features) {
        float[][] out = new float[features.length][];
        for (int i = 0; i < features.length; i++) {
            double norm = 0;
            for (float v : features[i]) norm += v * v;
            double inv = 1.0 / Math.max(Math.sqrt(norm), 1e-12);
            out[i] = new float[features[i].length];
            for (int d = 0; d < out[i].length; d++) out[i][d] = (float) (features[i][d] * inv);
        }
        return out;
    }
}
