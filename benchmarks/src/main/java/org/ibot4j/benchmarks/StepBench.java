package org.ibot4j.benchmarks;

import java.io.IOException;
import java.io.PrintStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.ibot4j.api.IbotConfig;
import org.ibot4j.api.IbotModel;
import org.ibot4j.api.OpTrace;
import org.ibot4j.api.StepParams;
import org.ibot4j.api.TrainBatch;
import org.ibot4j.trainer.data.Datasets;
import org.ibot4j.trainer.data.IdxDataset;
import org.ibot4j.trainer.data.IdxSource;
import org.ibot4j.trainer.data.ImageSource;
import org.ibot4j.trainer.data.MultiCropLoader;
import org.ibot4j.trainer.run.PretrainOptions;
import org.ibot4j.trainer.run.PretrainSetup;
import org.ibot4j.trainer.run.running.RunEstimate;

/**
 * Times {@code train_step} alone on one prepared batch, then end to end (every step takes the
 * loader's next batch, workers running alongside), for a named config; prints the matmul FLOPs of the
 * step (ibot4j's and the official step's, {@link StepFlops}) and the peak resident memory. ci/bench
 * reads its lines; ci/bench-malloc compares allocators with it in separate processes.
 */
public final class StepBench {
    private StepBench() {}

    /** The demo's model, crops and masks at a given batch size and thread count. */
    public static PretrainSetup demoSetup(ImageSource train, int batchSize, int threads) throws IOException {
        return setup("demo", train, batchSize, threads, "cpu", false);
    }

    /**
     * {@code tiny}: the performance issue's Fashion-MNIST config (ViT-tiny with 6 blocks, patch 4 at 32 px,
     * 2x32 + 6x16 crops, out_dim 1024, the official 2048/256 head). {@code demo}: the demo recipe's network,
     * head and crops (patch 8 at 32 px, 2x32 + 4x16) with the official centring and no KoLeo, the work of
     * tools/reference/bench_reference.py's step, which has neither remedy. {@code vit_s16}: the published
     * ViT-S/16 run's network, head and multi-crop (2x224 + 10x96, out_dim 8192), crops taken from
     * Fashion-MNIST upscaled. {@code dinov3_s16}: the same on timm's DINOv3 ViT-S/16 backbone (RoPE, 4 storage
     * tokens, LayerScale).
     */
    public static PretrainSetup setup(String preset, ImageSource train, int batchSize, int threads, String device, boolean bf16)
            throws IOException {
        // Every size a preset names is given as a user would give it, so the small-image defaults of
        // PretrainSetup (Fashion-MNIST is 28 px; they moved from patch 4 to 8 in issue 21) leave it alone
        // and tools/reference/bench_reference.py's presets stay the same networks.
        PretrainOptions o = switch (preset) {
            case "tiny" -> new PretrainOptions().given(Map.of("arch", "vit_tiny", "depth", 6, "patch_size", 4, "local_crops_number", 6,
                    "out_dim", 1024, "patch_out_dim", 1024, "head_hidden_dim", 2048, "head_bottleneck_dim", 256,
                    "global_crops_scale", List.of(0.25, 1.0), "local_crops_scale", List.of(0.05, 0.25)));
            case "demo" -> new PretrainOptions().given(PretrainOptions.demoRecipe())
                    .given(Map.of("centering", "centering", "koleo_loss_weight", 0.0));
            case "vit_s16" -> new PretrainOptions().given(Map.of("global_crop_size", 224, "local_crop_size", 96, "patch_size", 16,
                    "local_crops_number", 10, "out_dim", 8192, "patch_out_dim", 8192, "head_hidden_dim", 2048));
            case "dinov3_s16" -> new PretrainOptions().given(Map.of("arch", "vit_small_patch16_dinov3", "global_crop_size", 224,
                    "local_crop_size", 96, "local_crops_number", 10, "out_dim", 8192, "patch_out_dim", 8192, "head_hidden_dim", 2048));
            default -> throw new IllegalArgumentException("unknown benchmark config '" + preset + "' (tiny, demo, vit_s16 or dinov3_s16)");
        };
        o.given(Map.of("batch_size_per_gpu", batchSize, "threads", threads, "device", device, "bf16", bf16));
        return PretrainSetup.of(o, train.size(), Datasets.sizeOfFirst(train, "fashion-mnist"));
    }

    /** Trainable student parameters of a preset's model: the floats a data-parallel step all-reduces. */
    public static long trainableParameters(String preset) throws IOException {
        IdxSource train = new IdxSource(IdxDataset.read(Path.of("/usr/share/datasets/fashion-mnist"), "train").head(256));
        IbotConfig config = setup(preset, train, 64, 1, "cpu", false).model();
        long total = 0;
        try (IbotModel model = IbotModel.create(config)) {
            for (String name : model.tensorNames()) {
                if (!name.startsWith("student.")) continue;
                // weight-norm gains fixed at 1 (norm_last_layer) are not trained
                if (config.normLastLayer() && name.endsWith("weight_g")) continue;
                total += Arrays.stream(model.tensorShape(name)).reduce(1, Math::multiplyExact);
            }
        }
        return total;
    }

    public static void run(String preset, Path data, int steps, int batchSize, int threads, String device, boolean bf16,
            PrintStream out) throws IOException {
        IdxSource train = new IdxSource(IdxDataset.read(data, "train").head(4096));
        PretrainSetup setup = setup(preset, train, batchSize, threads, device, bf16);
        IbotConfig config = setup.model();
        var crops = setup.augmentation().options();
        out.printf(Locale.ROOT, "config %s: ViT %dx%d patch %d, head %d/%d/%d, batch %d, %dx%d + %dx%d crops, %d threads, %s%s%n", preset,
                config.embedDim(), config.depth(), config.patchSize(), config.hiddenDim(), config.bottleneckDim(), config.outDim(),
                batchSize, crops.nGlobal(), crops.globalSize(), crops.nLocal(), crops.localSize(), config.numThreads(), device,
                bf16 ? " bf16" : "");
        try (IbotModel model = IbotModel.create(config);
                MultiCropLoader loader = new MultiCropLoader(train, setup.augmentation(), setup.masking(), config, batchSize,
                        setup.workers(), 3, 0, 0)) {
            TrainBatch batch = loader.next().batch();
            long masked = masked(batch.masks());
            StepFlops flops = new StepFlops(config, batchSize, crops.nGlobal(), crops.nLocal(), crops.globalSize(), crops.localSize());
            out.printf(Locale.ROOT, "flops per step: ibot4j %.4e, official %.4e (%d masked patches)%n", flops.ibot4j(masked),
                    flops.official(), masked);
            StepParams params = new StepParams(1e-4, 0.04, 0.996, 0.04, 0.04, false, 3.0);
            int warmup = Math.max(1, Math.min(3, steps / 3));
            for (int i = 0; i < warmup; i++) model.trainStep(batch, params);
            String trace = System.getenv("IBOT4J_TRACE");
            if (trace != null && !trace.isBlank()) {
                // One step under LibTorch's profiler, outside the timed loops.
                try (OpTrace t = OpTrace.begin(Path.of(trace))) {
                    model.trainStep(batch, params);
                }
                out.println("op trace of one step written to " + trace);
            }
            if (steps == 0) return;  // ci/profile: the warm-up and the traced step only
            long start = System.nanoTime();
            for (int i = 0; i < steps; i++) model.trainStep(batch, params);
            report(out, "train_step", steps, batchSize, System.nanoTime() - start, -1);
            start = System.nanoTime();
            long waited = 0;
            for (int i = 0; i < steps; i++) {
                long before = System.nanoTime();
                TrainBatch next = loader.next().batch();
                waited += System.nanoTime() - before;
                model.trainStep(next, params);
            }
            report(out, "end-to-end", steps, batchSize, System.nanoTime() - start, waited);
            out.printf(Locale.ROOT, "peak RSS %d MiB%n", RunEstimate.peakResidentBytes() >> 20);
        }
    }

    private static long masked(MemorySegment masks) {
        long n = 0;
        for (long i = 0; i < masks.byteSize(); i++) n += masks.get(ValueLayout.JAVA_BYTE, i) != 0 ? 1 : 0;
        return n;
    }

    private static void report(PrintStream out, String what, int steps, int batchSize, long nanos, long waitNanos) {
        double seconds = nanos / 1e9;
        out.printf(Locale.ROOT, "%s: %d steps of batch %d in %.2f s: %.2f images/s, %.1f ms/step%s%n", what, steps, batchSize,
                seconds, steps * batchSize / seconds, 1000 * seconds / steps,
                waitNanos < 0 ? "" : String.format(Locale.ROOT, ", data wait %.2f %%", 100.0 * waitNanos / nanos));
    }
}
