package org.ibot4j.trainer.cli;

import java.nio.file.Path;
import java.util.Locale;
import org.ibot4j.api.IbotModel;
import org.ibot4j.api.Network;
import org.ibot4j.trainer.data.Datasets;
import org.ibot4j.trainer.data.ImageSource;
import org.ibot4j.trainer.eval.EvalViews;
import org.ibot4j.trainer.eval.KnnClassifier;
import org.ibot4j.trainer.eval.KnnEvaluation;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code ibot4j eval-knn}: weighted k-NN (k = 20, T = 0.07) of a checkpoint's frozen CLS features on a labelled dataset. */
@Command(name = "eval-knn", header = "k-NN top-1/top-5 of a checkpoint on a labelled dataset", mixinStandardHelpOptions = true, showDefaultValues = true, sortOptions = false,
        description = {"Weighted k-NN (k=20, T=0.07) on L2-normalised CLS features of a checkpoint's teacher (default):",
                "memory = the train split, queries = the test split (IDX t10k, CIFAR test_batch, or val/), or two labelled",
                "folders. Prints top-1 and top-5; --pixels adds the raw-pixel baseline."})
final class EvalKnnCommand extends Ibot4jCommand {
    @Mixin
    CheckpointOptions checkpoint;

    @ArgGroup(exclusive = true, multiplicity = "1")
    DataChoice data;

    static final class DataChoice {
        @Option(names = "--data", required = true, paramLabel = "DATA", description = "a labelled dataset with train and test splits")
        String both;

        @ArgGroup(exclusive = false)
        Split split;
    }

    static final class Split {
        @Option(names = "--train", required = true, paramLabel = "DATA", description = "labelled memory images")
        String train;

        @Option(names = "--val", required = true, paramLabel = "DATA", description = "labelled query images")
        String val;
    }

    @Option(names = "--limit_train", description = "use the first N memory images (0: all)")
    int limitTrain = 0;

    @Option(names = "--limit_val", description = "use the first N query images (0: all)")
    int limitVal = 0;

    @Option(names = "--pixels", description = "also report the raw-pixel baseline")
    boolean pixels;

    @Override
    public Integer call() throws Exception {
        boolean split = data.split != null;
        ImageSource train = Datasets.head(Datasets.open(split ? data.split.train : data.both, Datasets.Split.TRAIN), limitTrain);
        ImageSource test = Datasets.head(Datasets.open(split ? data.split.val : data.both, split ? Datasets.Split.TRAIN : Datasets.Split.TEST),
                limitVal);
        out.printf(Locale.ROOT, "k-NN (k=%d, T=%.2f) with %d memory and %d query images%n", KnnEvaluation.K, KnnEvaluation.TEMPERATURE,
                train.size(), test.size());
        if (pixels) print("raw pixels", KnnEvaluation.pixels(train, test));
        Path file = checkpoint.file();
        Network which = checkpoint.which;
        try (IbotModel model = IbotModel.open(file, checkpoint.threads())) {
            EvalViews eval = EvalViews.of(file, model.config());
            print(which.name().toLowerCase(Locale.ROOT) + " of " + file.getFileName(),
                    KnnEvaluation.network(model, which, train, test, eval.views(), eval.size()));
        }
        return 0;
    }

    private void print(String what, KnnClassifier.Accuracy a) {
        out.printf(Locale.ROOT, "%s: top-1 %.2f %%, top-5 %.2f %%%n", what, a.top1(), a.top5());
    }
}
