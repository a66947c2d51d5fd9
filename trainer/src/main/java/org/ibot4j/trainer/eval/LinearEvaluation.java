package org.ibot4j.trainer.eval;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import org.ibot4j.trainer.data.ImageSource;
import org.ibot4j.trainer.data.MultiCropAugmentation;

/**
 * iBOT's linear probe (eval_linear.py, with eval_linear_multi.py's side-by-side learning rates) on a
 * frozen backbone: linear heads on {@link ProbeFeatures}, SGD over shuffled mini-batches (the last one
 * may be short, as the official loader's), lr scaled by batch / 256, cosine to 0 over the epochs,
 * validated after every epoch; the reported number is the best validation top-1 over learning rates
 * and epochs, as the official scripts report it.
 *
 * <p>Two modes. {@link Mode#FULL_AUGMENTATION} is the official protocol: every epoch sees a new
 * RandomResizedCrop and flip of every training image through the backbone. {@link Mode#FROZEN_FEATURES}
 * computes the centred view's features once and trains on them for every epoch: the backbone runs
 * once instead of once per epoch (for small machines), and the numbers differ from the official ones
 * by the missing augmentation. Validation features are the centred views in both modes.
 */
public final class LinearEvaluation {
    public enum Mode {
        FROZEN_FEATURES("frozen-features"), FULL_AUGMENTATION("full-augmentation");

        private final String label;

        Mode(String label) {
            this.label = label;
        }

        public String label() {
            return label;
        }

        public static Mode of(String text) {
            for (Mode m : values()) {
                if (m.label.equalsIgnoreCase(text) || m.name().equalsIgnoreCase(text)) return m;
            }
            throw new IllegalArgumentException("unknown mode '" + text + "'; expected frozen-features or full-augmentation");
        }

        @Override
        public String toString() {
            return label;
        }
    }

    /**
     * @param lrs base learning rates for a batch of 256 (one head each); the heads use lr x batchSize / 256
     */
    public record Options(Mode mode, int epochs, int batchSize, double[] lrs, double momentum, double weightDecay, long seed) {
        public Options {
            if (epochs < 1) throw new IllegalArgumentException("--epochs must be at least 1, got " + epochs);
            if (batchSize < 1) throw new IllegalArgumentException("--batch_size must be at least 1, got " + batchSize);
            if (lrs == null || lrs.length == 0) throw new IllegalArgumentException("--lr needs at least one learning rate");
            for (double lr : lrs) {
                if (!(lr > 0) || Double.isInfinite(lr)) throw new IllegalArgumentException("--lr values must be positive and finite, got " + lr);
            }
            if (!(weightDecay >= 0)) throw new IllegalArgumentException("--weight_decay must be >= 0, got " + weightDecay);
            lrs = lrs.clone();
        }
    }

    /** Hears where a long phase stands ("val features", "train features", "train"). */
    @FunctionalInterface
    public interface Progress {
        void update(String phase, long done, long total, String status);
    }

    /** One learning rate: its best validation accuracy (and the epoch, 1-based) and the last epoch's. */
    public record PerLr(double lr, double scaledLr, LinearClassifiers.Accuracy best, int bestEpoch, LinearClassifiers.Accuracy last) {}

    public record Result(Mode mode, int featureDim, int classes, int trainImages, int valImages, List<PerLr> perLr, PerLr best) {}

    private final ProbeFeatures features;
    private final MultiCropAugmentation views;
    private final int size;
    private final Options options;
    private final Progress progress;

    public LinearEvaluation(ProbeFeatures features, MultiCropAugmentation views, int size, Options options, Progress progress) {
        this.features = features;
        this.views = views;
        this.size = size;
        this.options = options;
        this.progress = progress;
    }

    /** Features of the centred view of every image (the validation input, and the training input of the frozen mode). */
    public float[][] centred(ImageSource data, String phase) throws IOException {
        return features.centred(data, views, size, done -> progress.update(phase, done, data.size(), "images"));
    }

    /**
     * Trains the heads and validates them after every epoch. {@code trainFeatures} (centred views) is
     * required in the frozen mode and ignored in the full-augmentation mode.
     */
    public Result fit(ImageSource train, float[][] trainFeatures, ImageSource val, float[][] valFeatures) throws IOException {
        Options o = options;
        int[] trainLabels = labels(train), valLabels = labels(val);
        if (o.mode() == Mode.FROZEN_FEATURES && (trainFeatures == null || trainFeatures.length != train.size())) {
            throw new IllegalArgumentException("the frozen-features mode needs one feature per training image");
        }
        int classes = Math.max(Math.max(train.numClasses(), val.numClasses()), 1 + Math.max(max(trainLabels), max(valLabels)));
        double[] scaled = Arrays.stream(o.lrs()).map(lr -> lr * o.batchSize() / 256.0).toArray();
        LinearClassifiers heads = new LinearClassifiers(features.dim(), Math.max(2, classes), scaled, o.momentum(), o.weightDecay(), o.seed());
        int n = train.size(), steps = (n + o.batchSize() - 1) / o.batchSize();
        LinearClassifiers.Accuracy[] best = new LinearClassifiers.Accuracy[heads.heads()], last = null;
        int[] bestEpoch = new int[heads.heads()];
        for (int epoch = 0; epoch < o.epochs(); epoch++) {
            heads.setEpoch(epoch, o.epochs());
            int[] order = permutation(n, o.seed(), epoch);
            double loss = 0;
            for (int s = 0; s < steps; s++) {
                int[] batch = Arrays.copyOfRange(order, s * o.batchSize(), Math.min(n, (s + 1) * o.batchSize()));
                float[][] x = o.mode() == Mode.FROZEN_FEATURES ? gather(trainFeatures, batch) : augmented(train, batch, epoch);
                int[] y = new int[batch.length];
                for (int i = 0; i < batch.length; i++) y[i] = trainLabels[batch[i]];
                loss = heads.step(x, y)[0];
                progress.update("train", (long) epoch * steps + s + 1, (long) o.epochs() * steps,
                        String.format(Locale.ROOT, "epoch %d/%d, loss (lr %.3g) %.4f", epoch + 1, o.epochs(), o.lrs()[0], loss));
            }
            last = heads.evaluate(valFeatures, valLabels);
            for (int h = 0; h < last.length; h++) {
                // >= as the official scripts: a later epoch with the same accuracy is the one reported.
                if (best[h] == null || last[h].top1() >= best[h].top1()) {
                    best[h] = last[h];
                    bestEpoch[h] = epoch + 1;
                }
            }
        }
        List<PerLr> perLr = new ArrayList<>();
        PerLr overall = null;
        for (int h = 0; h < heads.heads(); h++) {
            PerLr r = new PerLr(o.lrs()[h], scaled[h], best[h], bestEpoch[h], last[h]);
            perLr.add(r);
            if (overall == null || r.best().top1() > overall.best().top1()) overall = r;
        }
        return new Result(o.mode(), features.dim(), classes, train.size(), val.size(), perLr, overall);
    }

    /** Features of a fresh RandomResizedCrop + flip of each image, drawn from (seed, epoch, image). */
    private float[][] augmented(ImageSource train, int[] batch, int epoch) throws IOException {
        long seed = options.seed();
        return features.of(batch, (i, out, offset) -> views.probeTrain(train.load(i), size,
                new SplittableRandom(mix(seed, epoch, i)), out, offset), size, done -> {});
    }

    static long mix(long seed, long epoch, long index) {
        long z = seed * 0x9E3779B97F4A7C15L + epoch * 0xBF58476D1CE4E5B9L + index * 0x94D049BB133111EBL;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** The epoch's order of the training images (Fisher-Yates), from (seed, epoch) only. */
    static int[] permutation(int n, long seed, int epoch) {
        int[] order = new int[n];
        for (int i = 0; i < n; i++) order[i] = i;
        SplittableRandom random = new SplittableRandom(mix(seed, epoch, -1));
        for (int i = n - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        return order;
    }

    private static float[][] gather(float[][] all, int[] rows) {
        float[][] out = new float[rows.length][];
        for (int i = 0; i < rows.length; i++) out[i] = all[rows[i]];
        return out;
    }

    private static int max(int[] values) {
        int m = -1;
        for (int v : values) m = Math.max(m, v);
        return m;
    }

    static int[] labels(ImageSource source) {
        int[] labels = new int[source.size()];
        for (int i = 0; i < labels.length; i++) {
            labels[i] = source.label(i);
            if (labels[i] < 0) throw new IllegalArgumentException("the linear probe needs labelled images; " + source.describe(i) + " has no class");
        }
        if (labels.length == 0) throw new IllegalArgumentException("the linear probe needs at least one image in each split");
        return labels;
    }
}
