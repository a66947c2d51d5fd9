package org.ibot4j.trainer;

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
import org.ibot4j.trainer.pretrain.MetricsLog;
import org.ibot4j.trainer.pretrain.PretrainOptions;
import org.ibot4j.trainer.pretrain.PretrainSetup;
import org.ibot4j.trainer.pretrain.Pretrainer;

/**
 * The README's first command: {@code pretrain} on Fashion-MNIST with a recipe sized for a few minutes
 * on two cores (below), then teacher k-NN (k = 20, T = 0.07) at initialisation, after training, and on
 * raw pixels. Every pretrain option can be given to override the recipe. The report folder holds the
 * run (checkpoints, metrics, loss.png) and summary.txt.
 */
public final class Demo {
    private Demo() {}

    /**
     * The demo's recipe, as pretrain options. Where it departs from the published ViT-S/16 run, and why
     * (measured, docs/demo.md): a narrow, shallow ViT with a 1024-wide head is what two cores train for
     * hundreds of steps in minutes; 8 epochs of 50 steps (a 3,200-image subset) give the epoch-based
     * warm-ups room to act within the run; the teacher follows the student faster (momentum 0.99, since
     * at 0.996 over 400 steps it stays half its initialisation) and the lr peaks at 5e-4; the last layer
     * is weight-normalised (the code default), which kept the head from collapsing at this scale.
     */
    public static PretrainOptions recipe() {
        PretrainOptions o = PretrainOptions.defaults();
        Map.<String, Object>ofEntries(
                Map.entry("data_path", "fashion-mnist"), Map.entry("output_dir", "runs/demo"),
                Map.entry("arch", "vit_tiny"), Map.entry("embed_dim", 128), Map.entry("depth", 4), Map.entry("num_heads", 4),
                Map.entry("out_dim", 1024), Map.entry("patch_out_dim", 1024), Map.entry("head_hidden_dim", 512),
                Map.entry("head_bottleneck_dim", 128), Map.entry("norm_last_layer", true), Map.entry("local_crops_number", 4),
                Map.entry("mean", "0.2860"), Map.entry("std", "0.3530"),
                Map.entry("batch_size_per_gpu", 64), Map.entry("subset", 3200), Map.entry("epochs", 8),
                Map.entry("lr", 2e-3), Map.entry("warmup_epochs", 1), Map.entry("momentum_teacher", 0.99),
                Map.entry("warmup_teacher_temp_epochs", 8), Map.entry("freeze_last_layer", 1),
                Map.entry("saveckp_freq", 2), Map.entry("keep_checkpoints", 2))
                .forEach(o::setDefault);
        return o;
    }

    public static int run(PretrainOptions options, PrintStream out) throws IOException {
        ImageSource train = Datasets.open(options.getString("data_path"), Datasets.Split.TRAIN);
        ImageSource test = Datasets.open(options.getString("data_path"), Datasets.Split.TEST);
        ImageSource memory = Datasets.head(train, options.getInt("knn_train")), queries = Datasets.head(test, options.getInt("knn_test"));
        out.printf(Locale.ROOT, "Fashion-MNIST from %s: %d train / %d test images; k-NN on %d / %d%n",
                Datasets.resolve(options.getString("data_path")), train.size(), test.size(), memory.size(), queries.size());
        KnnClassifier.Accuracy pixels = KnnEvaluation.pixels(memory, queries);
        out.printf(Locale.ROOT, "k-NN on raw pixels:              top-1 %.2f %%%n", pixels.top1());

        // The same seed and options build the same initial network as the run's.
        PretrainSetup setup = PretrainSetup.of(options, Datasets.head(train, options.getInt("subset")).size(), Datasets.sizeOfFirst(train));
        KnnClassifier.Accuracy initial;
        try (IbotModel fresh = IbotModel.create(setup.model())) {
            initial = KnnEvaluation.network(fresh, Network.TEACHER, memory, queries, setup.augmentation(), setup.model().imgSize());
        }
        out.printf(Locale.ROOT, "k-NN teacher at initialisation:  top-1 %.2f %%%n", initial.top1());

        long started = System.nanoTime();
        Pretrainer.Outcome run = Pretrainer.run(options, out);
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
                run.iteration(), setup.batchSize(), options.getInt("global_crop_size"), options.getInt("local_crops_number"),
                options.getInt("local_crop_size"), setup.model().embedDim(), setup.model().depth(), setup.model().patchSize(),
                setup.model().outDim(), trainSeconds, imagesPerSecond, rows.isEmpty() ? "-" : rows.get(0).get("loss"),
                rows.isEmpty() ? "-" : rows.get(rows.size() - 1).get("loss"), pixels.top1(), initial.top1(), trained.top1(),
                trained.top1() - initial.top1());
        Files.writeString(run.output().resolve("summary.txt"), summary);
        out.printf(Locale.ROOT, "report in %s (summary.txt, metrics.jsonl/.csv, loss.png, options.json, checkpoints/)%n", run.output());
        out.print(summary);
        out.printf(Locale.ROOT, "k-NN top-1 of the trained teacher: %.2f %%%n", trained.top1());
        return 0;
    }
}
