package org.ibot4j.trainer.bench;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Locale;
import org.ibot4j.api.IbotConfig;
import org.ibot4j.api.IbotModel;
import org.ibot4j.api.StepParams;
import org.ibot4j.api.TrainBatch;
import org.ibot4j.trainer.Demo;
import org.ibot4j.trainer.data.IdxSource;
import org.ibot4j.trainer.data.MultiCropLoader;
import org.ibot4j.trainer.data.IdxDataset;

/**
 * {@code train_step} alone on prepared batches of the demo configuration: images/s after warm-up.
 * Used by ci/bench-malloc to compare allocator settings in separate processes.
 */
public final class StepBench {
    private StepBench() {}

    private static void report(PrintStream out, String what, int steps, int batchSize, long nanos) {
        double seconds = nanos / 1e9;
        out.printf(Locale.ROOT, "%s: %d steps of batch %d in %.2f s: %.1f images/s, %.1f ms/step%n", what, steps, batchSize,
                seconds, steps * batchSize / seconds, 1000 * seconds / steps);
    }

    private static long peakResidentKb() throws IOException {
        for (String line : java.nio.file.Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmHWM:")) return Long.parseLong(line.replaceAll("[^0-9]", ""));
        }
        return -1;
    }

    public static void run(Path data, int steps, int batchSize, int threads, PrintStream out) throws IOException {
        IdxDataset train = IdxDataset.read(data, "train").head(4096);
        Demo.Recipe recipe = Demo.Recipe.defaults();
        IbotConfig config = Demo.modelConfig(recipe, 0, threads);
        try (IbotModel model = IbotModel.create(config);
                MultiCropLoader loader = Demo.loader(new IdxSource(train), recipe, config, batchSize, MultiCropLoader.defaultWorkers(), 0)) {
            TrainBatch batch = loader.next().batch();
            StepParams params = new StepParams(1e-4, 0.04, 0.996, 0.04, 0.04, false, 3.0);
            for (int i = 0; i < 3; i++) model.trainStep(batch, params);
            long start = System.nanoTime();
            for (int i = 0; i < steps; i++) model.trainStep(batch, params);
            report(out, "train_step", steps, batchSize, System.nanoTime() - start);
            // End to end: every step takes a fresh batch from the loader (worker threads running alongside).
            start = System.nanoTime();
            for (int i = 0; i < steps; i++) model.trainStep(loader.next().batch(), params);
            report(out, "end-to-end", steps, batchSize, System.nanoTime() - start);
            out.printf(Locale.ROOT, "peak RSS %d MiB%n", peakResidentKb() / 1024);
        }
    }
}
