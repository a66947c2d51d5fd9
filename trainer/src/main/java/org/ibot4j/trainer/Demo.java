package org.ibot4j.trainer;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.ibot4j.api.IbotConfig;
import org.ibot4j.api.IbotModel;
import org.ibot4j.api.Network;
import org.ibot4j.trainer.data.IdxSource;
import org.ibot4j.trainer.data.ImageSource;
import org.ibot4j.trainer.data.MaskingPolicy;
import org.ibot4j.trainer.data.MultiCropAugmentation;
import org.ibot4j.trainer.data.MultiCropLoader;
import org.ibot4j.trainer.data.IdxDataset;
import org.ibot4j.trainer.eval.Features;
import org.ibot4j.trainer.eval.KnnClassifier;
import org.ibot4j.trainer.schedule.CosineSchedule;
import org.ibot4j.trainer.schedule.Schedules;
import org.ibot4j.trainer.schedule.TeacherTemperature;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The README's first command: pretrain a small ViT with iBOT on Fashion-MNIST for a fixed number of
 * steps (data from {@link MultiCropLoader}, handed to train_step without a copy), then compare teacher k-NN accuracy (k = 20, T = 0.07) at initialisation, after training,
 * and on raw pixels; writes metrics.csv, loss.png and summary.txt to the output folder.
 */
public final class Demo {
    private static final Logger LOG = LoggerFactory.getLogger(Demo.class);

    public record Settings(Path data, Path output, int steps, int batchSize, int knnTrain, int knnTest, long seed, int threads,
            Recipe recipe) {}

    /** The demo's model and optimisation choices; flags of the same official names override them. */
    public record Recipe(int embedDim, int depth, int numHeads, int outDim, int localCropsNumber, double lr,
            double momentumTeacher, double teacherTemp, double globalScaleMin, double localScaleMin, double localScaleMax) {
        public static Recipe defaults() {
            return new Recipe(128, 4, 4, 1024, 4, 2e-3, 0.99, 0.07, 0.25, 0.05, 0.25);
        }
    }

    private Demo() {}

    public static IbotConfig modelConfig(Recipe r, long seed, int threads) {
        return IbotConfig.builder()
                .imgSize(32).patchSize(4).inChans(3)
                .embedDim(r.embedDim()).depth(r.depth()).numHeads(r.numHeads())
                .outDim(r.outDim()).patchOutDim(r.outDim()).hiddenDim(512).bottleneckDim(128)
                .sharedHead(true).sharedHeadTeacher(true).normLastLayer(false)
                .dropPathRate(0.1).seed(seed).numThreads(threads)
                .build();
    }

    /** iBOT's multi-crop at Fashion-MNIST scale: 2 global crops of 32 px, local crops of 16 px, its own mean/std. */
    public static MultiCropAugmentation augmentation(Recipe r) {
        float mean = 0.2860f, std = 0.3530f;
        return new MultiCropAugmentation(new MultiCropAugmentation.Options(2, r.localCropsNumber(), 32, 16,
                new double[] {r.globalScaleMin(), 1.0}, new double[] {r.localScaleMin(), r.localScaleMax()},
                new float[] {mean, mean, mean}, new float[] {std, std, std}));
    }

    /** The loader the demo and the step benchmark read from: one worker thread beside LibTorch's. */
    public static MultiCropLoader loader(ImageSource source, Recipe r, IbotConfig config, int batchSize, int workers, long seed) {
        return new MultiCropLoader(source, augmentation(r), MaskingPolicy.published(), config, batchSize, workers, 3, seed, 0);
    }

    public static void run(Settings s, PrintStream out) throws IOException {
        Files.createDirectories(s.output());
        IdxDataset train = IdxDataset.read(s.data(), "train");
        IdxDataset test = IdxDataset.read(s.data(), "t10k");
        IdxDataset knnTrain = train.head(s.knnTrain()), knnTest = test.head(s.knnTest());
        out.printf(Locale.ROOT, "Fashion-MNIST from %s: %d train / %d test images; k-NN on %d / %d%n",
                s.data(), train.size(), test.size(), knnTrain.size(), knnTest.size());

        Recipe recipe = s.recipe();
        MultiCropAugmentation views = augmentation(recipe);
        IbotConfig config = modelConfig(recipe, s.seed(), s.threads());
        out.println("recipe: " + recipe);
        KnnClassifier.Accuracy pixels = knn(Features.pixels(knnTrain), Features.pixels(knnTest), knnTrain, knnTest);
        out.printf(Locale.ROOT, "k-NN on raw pixels:            top-1 %.2f %%%n", pixels.top1());

        List<double[]> curve = new ArrayList<>();
        try (IbotModel model = IbotModel.create(config);
                MultiCropLoader loader = loader(new IdxSource(train), recipe, config, s.batchSize(), MultiCropLoader.defaultWorkers(), s.seed())) {
            KnnClassifier.Accuracy initial = knnOf(model, views, knnTrain, knnTest);
            out.printf(Locale.ROOT, "k-NN teacher at initialisation: top-1 %.2f %%%n", initial.top1());

            int steps = s.steps();
            // Short-run schedules: lr warm-up over 10 % of the steps then cosine; teacher momentum from
            // momentum_teacher (0.996 suits 100k-step runs, not 400) to 1; weight decay 0.04 -> 0.4;
            // teacher temperatures 0.04 -> teacher_temp over the first 3 of 10 pseudo-epochs.
            long perEpoch = Math.max(1, steps / 10);
            TeacherTemperature temp = new TeacherTemperature(0.04, recipe.teacherTemp(), 3, 0);
            Schedules schedules = new Schedules(new CosineSchedule(recipe.lr(), 1e-6, steps, Math.max(1, steps / 10), 0),
                    new CosineSchedule(0.04, 0.4, steps, 0, 0), new CosineSchedule(recipe.momentumTeacher(), 1.0, steps, 0, 0),
                    temp, temp, 0, perEpoch, 3.0);
            ProgressBar bar = new ProgressBar("pretrain", steps);
            double[] waited = {0};
            long started = System.nanoTime();
            try (var csv = Files.newBufferedWriter(s.output().resolve("metrics.csv"))) {
                csv.write("step,loss,cls_loss,patch_loss,grad_norm,lr,weight_decay,teacher_momentum,teacher_temp,data_wait_s,skipped_images\n");
                new TrainingLoop(model, loader, schedules, 3).run(0, steps, (step, params, r, wait) -> {
                    waited[0] += wait;
                    curve.add(new double[] {r.loss(), r.clsLoss(), r.patchLoss()});
                    try {
                        csv.write(String.format(Locale.ROOT, "%d,%.6f,%.6f,%.6f,%.6f,%.8f,%.6f,%.6f,%.4f,%.4f,%d%n", step, r.loss(),
                                r.clsLoss(), r.patchLoss(), r.gradNorm(), params.lr(), params.weightDecay(),
                                params.teacherMomentum(), params.teacherTemp(), wait, loader.skippedImages()));
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                    bar.update(step + 1, String.format(Locale.ROOT, "loss %.3f", r.loss()));
                });
            }
            bar.finish();
            double seconds = (System.nanoTime() - started) / 1e9;
            double imagesPerSecond = (double) steps * s.batchSize() / seconds;
            LOG.info("trained {} steps in {} s, {} s of it waiting for data; {} unreadable images skipped", steps,
                    String.format(Locale.ROOT, "%.1f", seconds), String.format(Locale.ROOT, "%.2f", waited[0]), loader.skippedImages());
            LossCurve.write(s.output().resolve("loss.png"), curve, "iBOT demo on Fashion-MNIST");
            CheckpointStore.saveAtomically(model, s.output().resolve("checkpoint.ibot4j"), "{\"demo_steps\":" + steps + "}");

            KnnClassifier.Accuracy trained = knnOf(model, views, knnTrain, knnTest);
            String summary = String.format(Locale.ROOT,
                    "steps %d, batch %d (2x32 + %dx16 crops), %.1f s, %.1f images/s%n"
                            + "loss %.3f -> %.3f%n"
                            + "k-NN top-1 (k=20, T=0.07): raw pixels %.2f %%, teacher at init %.2f %%, trained teacher %.2f %%%n",
                    steps, s.batchSize(), recipe.localCropsNumber(), seconds, imagesPerSecond, curve.get(0)[0], curve.get(curve.size() - 1)[0],
                    pixels.top1(), initial.top1(), trained.top1());
            Files.writeString(s.output().resolve("summary.txt"), summary);
            out.printf(Locale.ROOT, "report in %s (metrics.csv, loss.png, summary.txt, checkpoint.ibot4j)%n", s.output());
            out.print(summary.replace("%n", System.lineSeparator()));
            out.printf(Locale.ROOT, "k-NN top-1 of the trained teacher: %.2f %%%n", trained.top1());
        }
    }

    private static KnnClassifier.Accuracy knnOf(IbotModel model, MultiCropAugmentation views, IdxDataset train, IdxDataset test)
            throws IOException {
        return knn(Features.cls(model, Network.TEACHER, new IdxSource(train), views, 32),
                Features.cls(model, Network.TEACHER, new IdxSource(test), views, 32), train, test);
    }

    private static KnnClassifier.Accuracy knn(float[][] trainFeatures, float[][] testFeatures, IdxDataset train, IdxDataset test) {
        return new KnnClassifier(trainFeatures, train.labels(), train.numClasses(), 20, 0.07).evaluate(testFeatures, test.labels());
    }
}
