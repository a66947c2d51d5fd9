package org.ibot4j.trainer;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Locale;
import org.ibot4j.api.IbotModel;
import org.ibot4j.api.Network;
import org.ibot4j.trainer.data.Datasets;
import org.ibot4j.trainer.data.ImageSource;
import org.ibot4j.trainer.eval.KnnClassifier;
import org.ibot4j.trainer.eval.KnnEvaluation;
import org.ibot4j.trainer.pretrain.EvalViews;

/** {@code ibot4j eval-knn}: weighted k-NN (k = 20, T = 0.07) of a checkpoint's frozen CLS features on a labelled dataset. */
public final class EvalKnn {
    private EvalKnn() {}

    public static int run(Path checkpoint, String data, String trainData, String testData, Network which, int limitTrain, int limitTest,
            boolean pixels, int threads, PrintStream out) throws IOException {
        ImageSource train = Datasets.head(Datasets.open(trainData != null ? trainData : data, Datasets.Split.TRAIN), limitTrain);
        ImageSource test = Datasets.head(Datasets.open(testData != null ? testData : data, testData != null ? Datasets.Split.TRAIN
                : Datasets.Split.TEST), limitTest);
        out.printf(Locale.ROOT, "k-NN (k=%d, T=%.2f) with %d memory and %d query images%n", KnnEvaluation.K, KnnEvaluation.TEMPERATURE,
                train.size(), test.size());
        if (pixels) print(out, "raw pixels", KnnEvaluation.pixels(train, test));
        try (IbotModel model = IbotModel.open(checkpoint, threads)) {
            EvalViews eval = EvalViews.of(checkpoint, model.config());
            print(out, which.name().toLowerCase(Locale.ROOT) + " of " + checkpoint.getFileName(),
                    KnnEvaluation.network(model, which, train, test, eval.views(), eval.size()));
        }
        return 0;
    }

    private static void print(PrintStream out, String what, KnnClassifier.Accuracy a) {
        out.printf(Locale.ROOT, "%s: top-1 %.2f %%, top-5 %.2f %%%n", what, a.top1(), a.top5());
    }
}
