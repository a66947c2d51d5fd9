package org.ibot4j.benchmarks;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** The benchmark programs ci/bench, ci/bench-data, ci/bench-malloc and ci/gpu-check run; not part of the shipped CLI. */
@Command(name = "bench", mixinStandardHelpOptions = true, subcommands = {Bench.Step.class, Bench.Data.class})
public final class Bench {
    private static final String FASHION_MNIST = "/usr/share/datasets/fashion-mnist";

    public static void main(String[] args) {
        System.exit(new CommandLine(new Bench()).execute(args));
    }

    @Command(name = "step", mixinStandardHelpOptions = true, showDefaultValues = true,
            description = "train_step alone and end to end, FLOPs per step, peak RSS; IBOT4J_TRACE=FILE writes one step's op profile")
    static final class Step implements Callable<Integer> {
        @Option(names = "--config", description = "tiny, demo or vit_s16")
        String config = "demo";
        @Option(names = "--data", description = "folder of the Fashion-MNIST IDX files")
        Path data = Path.of(FASHION_MNIST);
        @Option(names = "--steps", description = "timed steps")
        int steps = 30;
        @Option(names = {"--batch_size", "--batch-size"}, description = "images per step")
        int batchSize = 64;
        @Option(names = "--threads", description = "LibTorch threads (0: the cores)")
        int threads = 0;
        @Option(names = "--device", description = "cpu or cuda")
        String device = "cpu";
        @Option(names = "--bf16", description = "bf16 autocast (CUDA)")
        boolean bf16;

        @Override
        public Integer call() throws Exception {
            int t = threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
            StepBench.run(config, data, steps, batchSize, t, device, bf16, System.out);
            return 0;
        }
    }

    @Command(name = "data", mixinStandardHelpOptions = true, showDefaultValues = true, description = "loader throughput")
    static final class Data implements Callable<Integer> {
        @Option(names = "--data", description = "folder of the Fashion-MNIST IDX files")
        Path data = Path.of(FASHION_MNIST);
        @Option(names = {"--jpeg_dir", "--jpeg-dir"}, description = "where the 256 px JPEG copies are made")
        Path jpegDir = Path.of("build/bench-jpegs");

        @Override
        public Integer call() throws Exception {
            DataBench.run(data, jpegDir, System.out);
            return 0;
        }
    }
}
