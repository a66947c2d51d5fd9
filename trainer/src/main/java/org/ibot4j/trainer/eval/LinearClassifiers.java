package org.ibot4j.trainer.eval;

import java.util.Random;
import java.util.stream.IntStream;

/**
 * Linear classifiers (softmax regression) trained side by side on the same batches, one per learning
 * rate, as iBOT's eval_linear_multi.py sweep: each is eval_linear.py's layer (weight N(0, 0.01²), bias
 * 0, mean cross-entropy) under PyTorch's SGD (d = g + wd·w; buf = momentum·buf + d; w -= lr·buf) with
 * the cosine annealing of CosineAnnealingLR (eta_min 0) stepped once per epoch.
 *
 * <p>Trained in Java rather than LibTorch: the features are small (hundreds to a few thousand values,
 * at most a thousand classes), so plain loops are fast, no native round-trip is needed per step, and
 * the same inputs give the same numbers on every run and thread count (each head is updated by one
 * thread, in a fixed order).
 */
public final class LinearClassifiers {
    /** Top-1 and top-5 accuracy in percent. */
    public record Accuracy(double top1, double top5) {}

    private final int dim, classes;
    private final double[] baseLr;
    private final double momentum, weightDecay;
    private final float[][] weight, bias, weightBuf, biasBuf;
    private final double[] lr;

    /**
     * @param dim         feature width
     * @param classes     number of labels
     * @param baseLrs     one head per value: its learning rate at epoch 0 (already scaled by batch / 256)
     * @param momentum    SGD momentum (official: 0.9)
     * @param weightDecay SGD weight decay (official: 0)
     * @param seed        seeds the N(0, 0.01²) initial weights, head after head
     */
    public LinearClassifiers(int dim, int classes, double[] baseLrs, double momentum, double weightDecay, long seed) {
        if (dim < 1 || classes < 2 || baseLrs.length == 0) {
            throw new IllegalArgumentException("need dim >= 1, classes >= 2 and at least one learning rate (got dim " + dim + ", "
                    + classes + " classes, " + baseLrs.length + " rates)");
        }
        this.dim = dim;
        this.classes = classes;
        this.baseLr = baseLrs.clone();
        this.lr = baseLrs.clone();
        this.momentum = momentum;
        this.weightDecay = weightDecay;
        int heads = baseLrs.length;
        weight = new float[heads][classes * dim];
        bias = new float[heads][classes];
        weightBuf = new float[heads][classes * dim];
        biasBuf = new float[heads][classes];
        Random random = new Random(seed);
        for (float[] w : weight) {
            for (int i = 0; i < w.length; i++) w[i] = (float) (0.01 * random.nextGaussian());
        }
    }

    public int heads() {
        return baseLr.length;
    }

    public int dim() {
        return dim;
    }

    /** Cosine annealing to 0 over {@code epochs}, the value CosineAnnealingLR holds during {@code epoch}. */
    public void setEpoch(int epoch, int epochs) {
        double factor = 0.5 * (1 + Math.cos(Math.PI * epoch / epochs));
        for (int h = 0; h < lr.length; h++) lr[h] = baseLr[h] * factor;
    }

    /** The learning rate head {@code h} uses now. */
    public double lr(int h) {
        return lr[h];
    }

    /** Sets head {@code h}'s weights ({@code [classes * dim]}, row-major) and bias; for tests against a reference. */
    public void setParameters(int h, float[] w, float[] b) {
        if (w.length != classes * dim || b.length != classes) throw new IllegalArgumentException("expected " + classes + "x" + dim + " weights and " + classes + " biases");
        System.arraycopy(w, 0, weight[h], 0, w.length);
        System.arraycopy(b, 0, bias[h], 0, b.length);
    }

    public float[] weight(int h) {
        return weight[h].clone();
    }

    public float[] bias(int h) {
        return bias[h].clone();
    }

    /** One SGD step of every head on the batch {@code x[i]} with labels {@code y[i]}; returns each head's mean loss before the step. */
    public double[] step(float[][] x, int[] y) {
        if (x.length == 0 || x.length != y.length) throw new IllegalArgumentException("a batch needs as many labels as features and at least one");
        for (int i = 0; i < x.length; i++) {
            if (x[i].length != dim) throw new IllegalArgumentException("feature " + i + " has " + x[i].length + " values, expected " + dim);
            if (y[i] < 0 || y[i] >= classes) throw new IllegalArgumentException("label " + y[i] + " is outside 0.." + (classes - 1));
        }
        double[] losses = new double[heads()];
        // Heads are independent: one thread each; a head's arithmetic order does not depend on the threads.
        IntStream.range(0, heads()).parallel().forEach(h -> losses[h] = stepHead(h, x, y));
        return losses;
    }

    private double stepHead(int h, float[][] x, int[] y) {
        float[] w = weight[h], b = bias[h];
        int n = x.length;
        float[] gradW = new float[classes * dim];
        float[] gradB = new float[classes];
        float[] g = new float[classes];
        double loss = 0;
        for (int i = 0; i < n; i++) {
            loss += softmaxGradient(w, b, x[i], y[i], g);
            for (int c = 0; c < classes; c++) {
                float gc = g[c] / n;
                gradB[c] += gc;
                int row = c * dim;
                float[] xi = x[i];
                for (int f = 0; f < dim; f++) gradW[row + f] += gc * xi[f];
            }
        }
        update(w, gradW, weightBuf[h], lr[h]);
        update(b, gradB, biasBuf[h], lr[h]);
        return loss / n;
    }

    /** Writes softmax(z) - onehot(label) into {@code g}; returns the cross-entropy of this sample. */
    private double softmaxGradient(float[] w, float[] b, float[] xi, int label, float[] g) {
        double[] z = logits(w, b, xi);
        double max = Double.NEGATIVE_INFINITY;
        for (double v : z) max = Math.max(max, v);
        double sum = 0;
        for (int c = 0; c < classes; c++) sum += Math.exp(z[c] - max);
        double logSum = max + Math.log(sum);
        for (int c = 0; c < classes; c++) g[c] = (float) (Math.exp(z[c] - logSum) - (c == label ? 1 : 0));
        return logSum - z[label];
    }

    private void update(float[] p, float[] grad, float[] buf, double rate) {
        for (int i = 0; i < p.length; i++) {
            float d = (float) (grad[i] + weightDecay * p[i]);
            buf[i] = (float) (momentum * buf[i] + d);
            p[i] = (float) (p[i] - rate * buf[i]);
        }
    }

    private double[] logits(float[] w, float[] b, float[] xi) {
        double[] z = new double[classes];
        for (int c = 0; c < classes; c++) z[c] = (double) dot(w, c * dim, xi) + b[c];
        return z;
    }

    /** w[row .. row + dim) . x in float, as PyTorch's fp32 matmul; four sums let the CPU overlap the multiply-adds. */
    private float dot(float[] w, int row, float[] x) {
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        int f = 0;
        for (; f + 3 < dim; f += 4) {
            s0 += w[row + f] * x[f];
            s1 += w[row + f + 1] * x[f + 1];
            s2 += w[row + f + 2] * x[f + 2];
            s3 += w[row + f + 3] * x[f + 3];
        }
        for (; f < dim; f++) s0 += w[row + f] * x[f];
        return (s0 + s1) + (s2 + s3);
    }

    /** Top-1 / top-5 of every head on {@code x} (a class ranks above the label when its logit is larger, or equal and of lower index). */
    public Accuracy[] evaluate(float[][] x, int[] y) {
        if (x.length == 0 || x.length != y.length) throw new IllegalArgumentException("evaluation needs as many labels as features and at least one");
        Accuracy[] out = new Accuracy[heads()];
        for (int h = 0; h < heads(); h++) {
            float[] w = weight[h], b = bias[h];
            int[] rank = IntStream.range(0, x.length).parallel().map(i -> {
                double[] z = logits(w, b, x[i]);
                int better = 0;
                for (int c = 0; c < classes; c++) {
                    if (z[c] > z[y[i]] || (z[c] == z[y[i]] && c < y[i])) better++;
                }
                return better;
            }).toArray();
            int top1 = 0, top5 = 0;
            for (int r : rank) {
                if (r == 0) top1++;
                if (r < 5) top5++;
            }
            out[h] = new Accuracy(100.0 * top1 / x.length, 100.0 * top5 / x.length);
        }
        return out;
    }
}
