package org.ibot4j.trainer.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.ibot4j.api.IbotModel;
import org.ibot4j.api.Network;
import org.ibot4j.trainer.data.Datasets;
import org.ibot4j.trainer.data.ImageSource;
import org.ibot4j.trainer.eval.KnnClassifier;
import org.ibot4j.trainer.eval.KnnEvaluation;
import org.ibot4j.trainer.run.PretrainOptions;
import org.ibot4j.trainer.run.PretrainSetup;
import org.ibot4j.trainer.run.reporting.MetricsLog;
import org.ibot4j.trainer.run.running.DistSetup;
import org.ibot4j.trainer.run.running.Pretraining;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The README's first command: {@code pretrain} on Fashion-MNIST with a recipe sized for a few minutes
 * on two cores (the shipped recipe {@code demo}, recipes/demo.yaml), then teacher k-NN (k = 20, T = 0.07) at
 * initialisation, after training, and on raw pixels. Every pretrain option can be given to override
 * the recipe. The report folder holds the run (checkpoints, metrics, loss.png) and summary.txt.
 */
@Command(name = "demo", header = "short iBOT pretraining on Fashion-MNIST with a k-NN report", mixinStandardHelpOptions = true, showDefaultValues = true, sortOptions = false,
        description = {"Pretrains a small ViT with iBOT on Fashion-MNIST (recipe: 'demo', recipes/demo.yaml; printed in DIR/options.json), then",
                "prints k-NN top-1 (k=20, T=0.07, --knn_train / --knn_test images) of the teacher at initialisation, after",
                "training, and on raw pixels. Report: --output (default runs/demo); running it again on a finished folder",
                "re-evaluates without training. Takes every pretrain option."})
final class DemoCommand extends Ibot4jCommand {
    @Option(names = "--config", paramLabel = "FILE|RECIPE", description = "YAML or JSON file, or a shipped recipe's name, of options over the demo's recipe (flags override both)")
    String config;

    @Mixin
    PretrainOptions options;

    static Map<String, Object> recipe() throws IOException {
        return PretrainOptions.demoRecipe();
    }

    @Override
    public Integer call() throws Exception {
        return run(PretrainCommand.withExplicit(this, options), out);
    }

    static int run(PretrainOptions options, PrintStream out) throws IOException {
        ImageSource train = Datasets.open(options.dataPath, Datasets.Split.TRAIN);
        ImageSource test = Datasets.open(options.dataPath, Datasets.Split.TEST);
        ImageSource memory = Datasets.head(train, options.knnTrain), queries = Datasets.head(test, options.knnTest);
        out.printf(Locale.ROOT, "Fashion-MNIST from %s: %d train / %d test images; k-NN on %d / %d%n",
                Datasets.resolve(options.dataPath), train.size(), test.size(), memory.size(), queries.size());
        KnnClassifier.Accuracy pixels = KnnEvaluation.pixels(memory, queries);
        out.printf(Locale.ROOT, "k-NN on raw pixels:              top-1 %.2f %%%n", pixels.top1());

        // The same seed and options build the same initial network as the run's.
        PretrainSetup setup = PretrainSetup.of(options, Datasets.head(train, options.subset).size(), Datasets.sizeOfFirst(train, options.dataPath));
        KnnClassifier.Accuracy initial;
        try (IbotModel fresh = IbotModel.create(setup.model())) {
            initial = KnnEvaluation.network(fresh, Network.TEACHER, memory, queries, setup.augmentation(), setup.model().imgSize());
        }
        out.printf(Locale.ROOT, "k-NN teacher at initialisation:  top-1 %.2f %%%n", initial.top1());

        long started = System.nanoTime();
        Pretraining.Result run = Pretraining.of(options).dist(DistSetup.fromEnvironment(options)).console(out).build().run();
        double trainSeconds = (System.nanoTime() - started) / 1e9;
        KnnClassifier.Accuracy trained;
        try (IbotModel model = IbotModel.open(run.checkpoint(), setup.model().numThreads())) {
            trained = KnnEvaluation.network(model, Network.TEACHER, memory, queries, setup.augmentation(), setup.model().imgSize());
        }
        List<Map<String, String>> rows = MetricsLog.readCsv(run.output().resolve("metrics.csv"));
        double imagesPerSecond = rows.stream().skip(1).mapToDouble(r -> Double.parseDouble(r.get("images_per_s"))).average().orElse(Double.NaN);
        String summary = String.format(Locale.ROOT,
                "%d steps of batch %d (2x%d + %dx%d crops), ViT %dx%d patch %d, head %d; %.0f s in this process, %.1f images/s%n"
                        + "loss %s -> %s%n"
                        + "k-NN top-1 (k=20, T=0.07): raw pixels %.2f %%, teacher at init %.2f %%, trained teacher %.2f %% (%+.2f)%n",
                run.iteration(), setup.batchSize(), setup.options().globalCropSize, setup.options().localCropsNumber,
                setup.options().localCropSize, setup.model().embedDim(), setup.model().depth(), setup.model().patchSize(),
                setup.model().outDim(), trainSeconds, imagesPerSecond, rows.isEmpty() ? "-" : rows.get(0).get("loss"),
                rows.isEmpty() ? "-" : rows.get(rows.size() - 1).get("loss"), pixels.top1(), initial.top1(), trained.top1(),
                trained.top1() - initial.top1());
        Files.writeString(run.output().resolve("summary.txt"), summary);
        out.printf(Locale.ROOT, "report in %s (report.html, summary.txt, metrics.jsonl/.csv, loss.png, options.json, checkpoints/)%n", run.output());
        out.print(summary);
        out.printf(Locale.ROOT, "k-NN top-1 of the trained teacher: %.2f %%%n", trained.top1());
        return 0;
    }
}
