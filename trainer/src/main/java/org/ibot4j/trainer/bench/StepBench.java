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

    public static void run(Path data, int steps, int batchSize, int threads, PrintStream out) throws IOException {
        IdxDataset train = IdxDataset.read(data, "train").head(4096);
        Demo.Recipe recipe = Demo.Recipe.defaults();
        IbotConfig config = Demo.modelConfig(recipe, 0, threads);
        try (IbotModel model = IbotModel.create(config);
                MultiCropLoader loader = Demo.loader(new IdxSource(train), recipe, config, batchSize, 1, 0)) {
            TrainBatch batch = loader.next().batch();
            StepParams params = new StepParams(1e-4, 0.04, 0.996, 0.04, 0.04, false, 3.0);
            for (int i = 0; i < 3; i++) model.trainStep(batch, params);
            long start = System.nanoTime();
            for (int i = 0; i < steps; i++) model.trainStep(batch, params);
            double seconds = (System.nanoTime() - start) / 1e9;
            out.printf(Locale.ROOT, "train_step: %d steps of batch %d in %.2f s: %.1f images/s, %.1f ms/step%n",
                    steps, batchSize, seconds, steps * batchSize / seconds, 1000 * seconds / steps);
        }
    }
}
