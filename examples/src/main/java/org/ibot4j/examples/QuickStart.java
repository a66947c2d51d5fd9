package org.ibot4j.examples;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.ibot4j.api.Arch;
import org.ibot4j.api.Encoder;
import org.ibot4j.api.IbotModel;
import org.ibot4j.api.LibTorchInfo;
import org.ibot4j.api.NativeLibrary;
import org.ibot4j.trainer.data.IdxDataset;
import org.ibot4j.trainer.run.PretrainOptions;
import org.ibot4j.trainer.run.running.Pretraining;

/**
 * ibot4j from another project: a small ViT trained for three iBOT steps on Fashion-MNIST (the library
 * pretraining call: crops and masks from the trainer's loader), saved,
 * reopened, and used as a feature extractor through an {@link Encoder}. Needs {@code --enable-native-access=ALL-UNNAMED}.
 *
 * <p>Arguments: an optional output folder (default: a new temporary folder). Fashion-MNIST is read from
 * {@code $IBOT4J_FASHION_MNIST} or {@code /usr/share/datasets/fashion-mnist} (Debian package
 * dataset-fashion-mnist). Exits with status 1 when a step is not finite or the checkpoint does not read back.
 */
public final class QuickStart {
    static final int BATCH = 8, N_LOCAL = 2, STEPS = 3, EMBED_DIM = 64;

    public static void main(String[] args) throws Exception {
        Path out = args.length > 0 ? Files.createDirectories(Path.of(args[0])) : Files.createTempDirectory("ibot4j-quickstart");

        LibTorchInfo info = NativeLibrary.load();
        System.out.println("native library: " + info.library() + " (LibTorch " + info.loadedVersion() + ")");
        for (String step : NativeLibrary.diagnose()) System.out.println("  " + step);
        if (Boolean.getBoolean("ibot4j.examples.requireExtracted") && NativeLibrary.diagnose().stream()
                .noneMatch(s -> s.startsWith("libibot4j: ") && s.contains("extract") && s.endsWith(": used"))) {
            fail("expected libibot4j to be extracted from the ibot4j-native jar, but it was loaded from " + info.library());
        }

        String dataDir = System.getenv().getOrDefault("IBOT4J_FASHION_MNIST", "/usr/share/datasets/fashion-mnist");
        IdxDataset data = IdxDataset.read(Path.of(dataDir), "train").head(BATCH * STEPS);
        System.out.printf(Locale.ROOT, "data: %d Fashion-MNIST images (%d x %d) from %s%n", data.size(), data.rows(), data.cols(), dataDir);

        // Three iBOT steps through the library call the CLI uses: the trainer's multi-crop loader makes the
        // crops and masks, the run folder gets checkpoints (written atomically), metrics and a report.
        PretrainOptions options = PretrainOptions.builder().arch(Arch.VIT_TINY).embedDim(EMBED_DIM).depth(2).numHeads(2)
                .outDim(256).patchOutDim(256).headHiddenDim(128).headBottleneckDim(64).localCropsNumber(N_LOCAL)
                .batchSizePerGpu(BATCH).dataPath(dataDir).subset(BATCH * STEPS).epochs(1).warmupEpochs(0).warmupTeacherTempEpochs(0)
                .saveckpIters(STEPS).threads(2).numWorkers(1).outputDir(Files.createTempDirectory(out, "run-").toString()).build();
        Pretraining.Result run = Pretraining.of(options).listener(new Pretraining.Listener() {
            @Override public void onStep(Pretraining.Step step) {
                System.out.printf(Locale.ROOT, "step %d: %s%n", step.iteration() + 1, step.result());
                if (!step.result().finite()) fail("step " + (step.iteration() + 1) + " gave a non-finite loss");
            }
        }).build().run();
        if (run.iteration() != STEPS) fail("the run ended at step " + run.iteration() + ", not " + STEPS);
        Path checkpoint = run.checkpoint();
        System.out.println("saved " + checkpoint + " (" + Files.size(checkpoint) + " bytes)");

        // The low-level API reads the same checkpoint: every tensor of the training model by name.
        try (IbotModel reopened = IbotModel.open(checkpoint, 2)) {
            List<String> teacher = reopened.tensorNames().stream().filter(n -> n.startsWith("teacher.")).toList();
            if (teacher.isEmpty()) fail("no teacher tensors in " + reopened.tensorNames());
            for (String name : teacher) {
                for (float v : reopened.readTensor(name)) if (!Float.isFinite(v)) fail("teacher tensor " + name + " is not finite");
            }
            System.out.println("teacher weights read back: " + teacher.size() + " tensors, all finite");
        }
        // Features: an Encoder prepares images itself (resize, centre crop, the checkpoint's normalisation)
        // and holds the teacher's backbone only.
        try (Encoder encoder = Encoder.open(checkpoint, Encoder.Options.defaults().threads(2))) {
            int n = 4;
            float[][] features = encoder.embed(ConcurrentEmbedding.slices(data.head(n), 1).get(0));
            System.out.println("features: [" + features.length + ", " + features[0].length + "]");
            if (features.length != n || features[0].length != EMBED_DIM) fail("unexpected feature shape");
        }
        System.out.println("QuickStart OK");
    }

    private static void fail(String message) {
        System.err.println("QuickStart FAILED: " + message);
        System.exit(1);
    }
}
