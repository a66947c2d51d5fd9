package org.ibot4j.benchmarks;

import java.nio.file.Path;
import java.util.Locale;
import java.util.List;
import java.util.concurrent.Callable;
import org.ibot4j.api.CpuTopology;
import org.ibot4j.api.DistConfig;
import org.ibot4j.api.ProcessGroup;
import org.ibot4j.trainer.run.checkpoints.TeacherDifference;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine;

/** The programs ci/bench, ci/bench-data, ci/bench-malloc, ci/gpu-check and ci/multi-host run; not part of the shipped CLI. */
@Command(name = "bench", mixinStandardHelpOptions = true, subcommands = {Bench.Step.class, Bench.Data.class, Bench.Shards.class, Bench.AllReduce.class,
        Bench.Embed.class, Bench.Teachers.class})
public final class Bench {
    private static final String FASHION_MNIST = "/usr/share/datasets/fashion-mnist";

    public static void main(String[] args) {
        System.exit(new CommandLine(new Bench()).execute(args));
    }

    @Command(name = "step", mixinStandardHelpOptions = true, showDefaultValues = true,
            description = "train_step alone and end to end, FLOPs per step, peak RSS; IBOT4J_TRACE=FILE writes one step's op profile")
    static final class Step implements Callable<Integer> {
        @Option(names = "--config", description = "tiny, demo, vit_s16 or dinov3_s16")
        String config = "demo";
        @Option(names = "--data", description = "folder of the Fashion-MNIST IDX files")
        Path data = Path.of(FASHION_MNIST);
        @Option(names = "--steps", description = "timed steps (0: none, only the warm-up and the step IBOT4J_TRACE records)")
        int steps = 30;
        @Option(names = {"--batch_size", "--batch-size"}, description = "images per step")
        int batchSize = 64;
        @Option(names = "--threads", description = "LibTorch threads (0: the physical cores)")
        int threads = 0;
        @Option(names = "--device", description = "cpu or cuda")
        String device = "cpu";
        @Option(names = "--bf16", description = "bf16 autocast (CUDA, or a CPU with native bf16)")
        boolean bf16;

        @Override
        public Integer call() throws Exception {
            int t = threads > 0 ? threads : CpuTopology.defaultThreads();
            StepBench.run(config, data, steps, batchSize, t, device, bf16, System.out);
            return 0;
        }
    }

    @Command(name = "allreduce", mixinStandardHelpOptions = true, showDefaultValues = true,
            description = "one rank of a group (torchrun's environment): all-reduces a buffer of the config's gradient size")
    static final class AllReduce implements Callable<Integer> {
        @Option(names = "--config", description = "tiny, demo, vit_s16 or dinov3_s16")
        String config = "tiny";
        @Option(names = "--iters", description = "timed all-reduces")
        int iters = 10;
        @Option(names = "--backend", description = "gloo or nccl")
        String backend = "gloo";

        @Override
        public Integer call() throws Exception {
            DistConfig dist = DistConfig.fromEnvironment(System.getenv(),
                    DistConfig.Backend.of(backend), 600);
            if (dist == null) throw new IllegalArgumentException("run it under torchrun's environment (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT)");
            long floats = StepBench.trainableParameters(config);
            // The model's gradients are float32; ProcessGroup.allReduce takes doubles: half as many of them are the same bytes.
            double[] buffer = new double[(int) (floats / 2)];
            try (ProcessGroup group = ProcessGroup.join(dist)) {
                for (int i = 0; i < 2; i++) group.allReduce(buffer, ProcessGroup.Reduce.SUM);
                long start = System.nanoTime();
                for (int i = 0; i < iters; i++) group.allReduce(buffer, ProcessGroup.Reduce.SUM);
                double ms = (System.nanoTime() - start) / 1e6 / iters;
                if (dist.rank() == 0) {
                    System.out.printf(Locale.ROOT, "allreduce: %d floats (%.1f MB) in %.2f ms, %.0f MB/s%n", floats, floats * 4 / 1e6, ms,
                            floats * 4 / 1e3 / ms);
                }
            }
            return 0;
        }
    }

    @Command(name = "teachers", mixinStandardHelpOptions = true,
            description = "the largest difference between two checkpoints' teacher weights, and its ratio to the largest weight")
    static final class Teachers implements Callable<Integer> {
        @Parameters(index = "0", description = "the reference checkpoint")
        Path reference;
        @Parameters(index = "1", description = "the checkpoint compared with it")
        Path other;

        @Override
        public Integer call() {
            TeacherDifference d = TeacherDifference.of(reference, other);
            System.out.printf(Locale.ROOT, "teacher: max |diff| %.3g, largest |weight| %.4g, ratio %.3g%n", d.max(), d.largest(), d.ratio());
            return 0;
        }
    }

    @Command(name = "embed", mixinStandardHelpOptions = true, showDefaultValues = true,
            description = "ci/bench-embed: --prepare writes ViT-S/16 weights and input images; then Encoder throughput or --rss")
    static final class Embed implements Callable<Integer> {
        @Option(names = "--dir", description = "where the weights and images are")
        Path dir = Path.of("build/bench-embed");
        @Option(names = "--prepare", description = "write the weights and images first")
        boolean prepare;
        @Option(names = "--images", description = "images to prepare")
        int images = 64;
        @Option(names = "--data", description = "folder of the Fashion-MNIST IDX files")
        Path data = Path.of(FASHION_MNIST);
        @Option(names = "--threads", description = "LibTorch threads")
        int threads = 2;
        @Option(names = "--callers", description = "threads calling one Encoder at once")
        int callers = 1;
        @Option(names = "--batch", description = "images per forward pass")
        int batch = 16;
        @Option(names = "--rounds", description = "timed passes over the images (after one warm-up)")
        int rounds = 3;
        @Option(names = "--bf16", description = "bf16 autocast")
        boolean bf16;
        @Option(names = "--rss", description = "instead of timing: resident memory of 'encoder' or 'model' (today's embed)")
        String rss;
        @Option(names = "--weights", description = "the weights file in --dir the Encoder opens (vit_s16_dinov3.safetensors: the DINOv3 row)")
        String weights = "vit_s16.pth";
        @Option(names = "--onnx", description = "time ONNX Runtime's Java API on the exported vit_s16.onnx instead of the Encoder")
        boolean onnx;
        @Option(names = "--patches", description = "ask the Encoder for the patch tokens too (the whole last block runs; without, the CLS alone)")
        boolean patches;

        @Override
        public Integer call() throws Exception {
            if (prepare) EmbedBench.prepare(dir, data, images, System.out);
            else if (rss != null) EmbedBench.rss(dir, rss, threads, System.out);
            else if (onnx) EmbedBench.onnxThroughput(dir, threads, batch, rounds, System.out);
            else EmbedBench.throughput(dir, weights, threads, callers, batch, rounds, bf16, patches, System.out);
            return 0;
        }
    }

    @Command(name = "data", mixinStandardHelpOptions = true, showDefaultValues = true, description = "loader throughput")
    static final class Data implements Callable<Integer> {
        @Option(names = "--data", description = "folder of the Fashion-MNIST IDX files")
        Path data = Path.of(FASHION_MNIST);
        @Option(names = {"--jpeg_dir", "--jpeg-dir"}, description = "where the 256 px JPEG copies are made")
        Path jpegDir = Path.of("build/bench-jpegs");
        @Option(names = "--official", description = "images/s of the official pipeline in one DataLoader worker (tools/reference/bench_data_reference.py), for the last line")
        double official;

        @Override
        public Integer call() throws Exception {
            DataBench.run(data, jpegDir, official, System.out);
            return 0;
        }
    }

    @Command(name = "shards", mixinStandardHelpOptions = true, showDefaultValues = true,
            description = "loader throughput on shards vs the same JPEG folder, and peak RSS over N sharded images")
    static final class Shards implements Callable<Integer> {
        @Option(names = "--data", description = "folder of the Fashion-MNIST IDX files")
        Path data = Path.of(FASHION_MNIST);
        @Option(names = {"--jpeg_dir", "--jpeg-dir"}, description = "where the 256 px JPEG copies are made (shared with bench data)")
        Path jpegDir = Path.of("build/bench-jpegs");
        @Option(names = {"--shard_dir", "--shard-dir"}, description = "where the shards are made (kept for the next run)")
        Path shardDir = Path.of("build/bench-shards");
        @Option(names = "--batches", description = "timed batches a row")
        int batches = 20;
        @Option(names = "--rss", split = ",", description = "image counts for the RSS rows (each a set of WebDataset shards of copies of one JPEG)")
        List<Integer> rss = List.of(10_000, 100_000, 1_000_000);

        @Override
        public Integer call() throws Exception {
            ShardBench.run(data, jpegDir, shardDir, batches, rss, System.out);
            return 0;
        }
    }
}
