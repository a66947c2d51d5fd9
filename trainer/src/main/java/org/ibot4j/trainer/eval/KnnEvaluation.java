package org.ibot4j.trainer.eval;

import java.io.IOException;
import org.ibot4j.api.Encoder;
import org.ibot4j.api.IbotModel;
import org.ibot4j.api.Network;
import org.ibot4j.trainer.data.ImageSource;
import org.ibot4j.trainer.data.MultiCropAugmentation;

/**
 * iBOT's k-NN protocol (k = 20, T = 0.07) on labelled train/test images: on a network's CLS features
 * of centred views, or on raw pixels as the baseline. Shared by {@code eval-knn}, the monitor and the demo.
 */
public final class KnnEvaluation {
    public static final int K = 20;
    public static final double TEMPERATURE = 0.07;

    private KnnEvaluation() {}

    public static KnnClassifier.Accuracy network(IbotModel model, Network which, ImageSource train, ImageSource test,
            MultiCropAugmentation views, int size) throws IOException {
        return classify(Features.cls(model, which, train, views, size), Features.cls(model, which, test, views, size), train, test);
    }

    /** The same for a backbone file opened as an {@link Encoder}. */
    public static KnnClassifier.Accuracy encoder(Encoder encoder, ImageSource train, ImageSource test, MultiCropAugmentation views, int size)
            throws IOException {
        return classify(Features.cls(encoder, train, views, size), Features.cls(encoder, test, views, size), train, test);
    }

    public static KnnClassifier.Accuracy pixels(ImageSource train, ImageSource test) throws IOException {
        return classify(Features.pixels(train), Features.pixels(test), train, test);
    }

    private static KnnClassifier.Accuracy classify(float[][] trainFeatures, float[][] testFeatures, ImageSource train, ImageSource test) {
        int classes = Math.max(train.numClasses(), test.numClasses());
        return new KnnClassifier(trainFeatures, labels(train), classes, K, TEMPERATURE).evaluate(testFeatures, labels(test));
    }

    private static int[] labels(ImageSource source) {
        int[] labels = new int[source.size()];
        for (int i = 0; i < labels.length; i++) {
            labels[i] = source.label(i);
            if (labels[i] < 0) throw new IllegalArgumentException("k-NN needs labelled images; " + source.describe(i) + " has no class");
        }
        return labels;
    }
}
