package org.ibot4j.benchmarks;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.ibot4j.api.Encoder;
import org.ibot4j.api.IbotConfig;
import org.ibot4j.api.IbotModel;
import org.ibot4j.api.NativeLibrary;
import org.ibot4j.api.Network;
import org.ibot4j.api.OpTrace;
import org.ibot4j.api.image.EvalTransform;
import org.ibot4j.api.image.ImageReading;
import org.ibot4j.api.io.AtomicFiles;
import org.ibot4j.api.io.NamedTensor;
import org.ibot4j.api.io.SafeTensors;
import org.ibot4j.api.io.SafeTensorsWriter;
import org.ibot4j.api.io.WeightExchange;
import org.ibot4j.trainer.data.IdxDataset;
import org.ibot4j.trainer.export.OnnxExport;
import org.ibot4j.trainer.run.running.RunEstimate;

/**
 * ci/bench-embed's Java side: ViT-S/16 inference through the {@link Encoder} on the same prepared images
 * and weights as tools/reference/bench_embed.py's timm model, and the resident memory of the Encoder
 * against today's {@code embed} path (the whole training model opened from its checkpoint).
 */
final class EmbedBench {
    static final int SIZE = 224;

    private EmbedBench() {}

    /** A ViT-S/16 of the published run (random weights: speed does not depend on them), its checkpoint, its timm .pth and the input images. */
    static void prepare(Path dir, Path fashion, int images, PrintStream out) throws IOException {
        Files.createDirectories(dir);
        IbotConfig config = IbotConfig.builder().arch("vit_small").imgSize(SIZE).patchSize(16).outDim(8192).patchOutDim(8192)
                .hiddenDim(2048).bottleneckDim(256).sharedHead(true).sharedHeadTeacher(true).numThreads(2).build();
        try (IbotModel model = IbotModel.create(config)) {
            AtomicFiles.writeToPath(dir.resolve("vit_s16.ibot4j"), tmp -> model.save(tmp, "{}"));
            WeightExchange.export(model, Network.TEACHER, WeightExchange.Format.PTH, dir.resolve("vit_s16.pth"));
        }
        // Fashion-MNIST test images through the evaluation view (ImageNet statistics, as for a .pth).
        IdxDataset data = IdxDataset.read(fashion, "t10k");
        EvalTransform t = EvalTransform.imageNet(SIZE);
        float[] flat = new float[(int) (images * t.floatsPerImage())];
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment one = arena.allocate(ValueLayout.JAVA_FLOAT, t.floatsPerImage());
            for (int i = 0; i < images; i++) {
                t.write(ImageReading.pixels(grey(data, i)), one, 0);
                MemorySegment.copy(one, ValueLayout.JAVA_FLOAT, 0, flat, (int) (i * t.floatsPerImage()), (int) t.floatsPerImage());
            }
        }
        SafeTensorsWriter.write(dir.resolve("input.safetensors"), List.of(new NamedTensor("images", new long[] {images, 3, SIZE, SIZE}, flat)),
                Map.of("config", config.toJson().toString()));
        OnnxExport.export(dir.resolve("vit_s16.ibot4j"), Network.TEACHER, 2, dir.resolve("vit_s16.onnx"));
        out.printf(Locale.ROOT, "prepared %s: vit_s16.ibot4j, vit_s16.pth, vit_s16.onnx, input.safetensors (%d images)%n", dir, images);
    }

    /**
     * Images/s of {@link Encoder#forward} with {@code weights} (a file in {@code dir}: ibot4j's ViT-S/16 export, or
     * the DINOv3 ViT-S/16 that tools/reference/bench_embed.py --dinov3 writes) over the prepared images in batches, split between
     * {@code callers} threads calling one Encoder at once; the best of {@code rounds} passes.
     */
    static void throughput(Path dir, String weights, int threads, int callers, int batch, int rounds, boolean bf16, boolean patches, PrintStream out)
            throws Exception {
        float[] images;
        long[] shape;
        try (SafeTensors st = SafeTensors.open(dir.resolve("input.safetensors"))) {
            images = st.floats("images");
            shape = st.entry("images").shape();
        }
        int n = (int) shape[0];
        long per = 3L * SIZE * SIZE;
        int batches = n / batch;
        try (Encoder encoder = Encoder.open(dir.resolve(weights), Encoder.Options.defaults().threads(threads).bf16(bf16));
                Arena arena = Arena.ofShared()) {
            MemorySegment input = arena.allocateFrom(ValueLayout.JAVA_FLOAT, images);
            ExecutorService pool = Executors.newFixedThreadPool(callers);
            try {
                double best = 0;
                for (int round = 0; round <= rounds; round++) {
                    long start = System.nanoTime();
                    List<Future<?>> running = new ArrayList<>();
                    for (int c = 0; c < callers; c++) {
                        int caller = c;
                        running.add(pool.submit(() -> {
                            try (Arena scratch = Arena.ofConfined()) {
                                MemorySegment cls = scratch.allocate(ValueLayout.JAVA_FLOAT, (long) batch * encoder.dim());
                                long grid = SIZE / encoder.config().patchSize();  // the prepared images' size, not the encoder's default
                                MemorySegment patchTokens = patches
                                        ? scratch.allocate(ValueLayout.JAVA_FLOAT, (long) batch * grid * grid * encoder.dim())
                                        : MemorySegment.NULL;
                                for (int b = caller; b < batches; b += callers) {
                                    encoder.forward(input.asSlice(b * batch * per * Float.BYTES, batch * per * Float.BYTES), batch, SIZE, SIZE, cls,
                                            patchTokens);
                                }
                            }
                            return null;
                        }));
                    }
                    for (Future<?> f : running) f.get();
                    double ips = batches * batch / ((System.nanoTime() - start) / 1e9);
                    if (round > 0) best = Math.max(best, ips);  // round 0 warms up
                }
                out.printf(Locale.ROOT, "encoder: %.2f images/s (%d callers, %d LibTorch threads, batch %d, %s, %s, peak RSS %d MiB)%n", best,
                        callers, threads, batch, bf16 ? "bf16" : "fp32", patches ? "CLS and patch tokens" : "CLS only",
                        RunEstimate.peakResidentBytes() >> 20);
                String trace = System.getenv("IBOT4J_TRACE");
                if (trace != null && !trace.isBlank()) {
                    // One batch under LibTorch's profiler, outside the timed passes; begun and run on this thread,
                    // so on the one compute thread the profiler follows.
                    try (Arena scratch = Arena.ofConfined(); OpTrace t = OpTrace.begin(Path.of(trace))) {
                        encoder.forward(input.asSlice(0, batch * per * Float.BYTES), batch, SIZE, SIZE,
                                scratch.allocate(ValueLayout.JAVA_FLOAT, (long) batch * encoder.dim()), MemorySegment.NULL);
                    }
                    out.println("op trace of one batch written to " + trace);
                }
            } finally {
                pool.shutdown();
            }
        }
    }

    /**
     * Images/s of ONNX Runtime's Java API (CPU, {@code threads} intra-op threads, one caller) running the
     * {@code export --format onnx} model over the prepared images in batches; the best of {@code rounds} passes.
     */
    static void onnxThroughput(Path dir, int threads, int batch, int rounds, PrintStream out) throws Exception {
        float[] images;
        try (SafeTensors st = SafeTensors.open(dir.resolve("input.safetensors"))) {
            images = st.floats("images");
        }
        int per = 3 * SIZE * SIZE, batches = images.length / per / batch;
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            options.setIntraOpNumThreads(threads);
            options.setInterOpNumThreads(1);
            List<OnnxTensor> inputs = new ArrayList<>();
            try (OrtSession session = env.createSession(dir.resolve("vit_s16.onnx").toString(), options)) {
                for (int b = 0; b < batches; b++) {
                    inputs.add(OnnxTensor.createTensor(env, FloatBuffer.wrap(images, b * batch * per, batch * per).slice(), new long[] {batch, 3, SIZE, SIZE}));
                }
                double best = 0;
                for (int round = 0; round <= rounds; round++) {
                    long start = System.nanoTime();
                    for (OnnxTensor x : inputs) {
                        try (OrtSession.Result r = session.run(Map.of("images", x))) {
                            r.get(0);
                        }
                    }
                    double ips = batches * batch / ((System.nanoTime() - start) / 1e9);
                    if (round > 0) best = Math.max(best, ips);  // round 0 warms up
                }
                out.printf(Locale.ROOT, "onnxruntime: %.2f images/s (ONNX Runtime Java, %d intra-op threads, batch %d, fp32, peak RSS %d MiB)%n", best,
                        threads, batch, RunEstimate.peakResidentBytes() >> 20);
            } finally {
                inputs.forEach(OnnxTensor::close);
            }
        }
    }

    /**
     * Resident memory after embedding {@code images} prepared images the way each path holds the weights:
     * {@code encoder} (one backbone) or {@code model} (today's embed before the Encoder: the whole
     * training model, student, teacher, heads and AdamW state, opened from the checkpoint).
     */
    static void rss(Path dir, String mode, int threads, PrintStream out) throws IOException {
        Path checkpoint = dir.resolve("vit_s16.ibot4j");
        float[] images;
        try (SafeTensors st = SafeTensors.open(dir.resolve("input.safetensors"))) {
            images = st.floats("images");
        }
        int n = Math.min(16, images.length / (3 * SIZE * SIZE));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment input = arena.allocateFrom(ValueLayout.JAVA_FLOAT, Arrays.copyOf(images, n * 3 * SIZE * SIZE));
            MemorySegment cls = arena.allocate(ValueLayout.JAVA_FLOAT, (long) n * 384);
            switch (mode) {
                case "encoder" -> {
                    try (Encoder encoder = Encoder.open(checkpoint, Encoder.Options.defaults().threads(threads))) {
                        encoder.forward(input, n, SIZE, SIZE, cls, MemorySegment.NULL);
                        report(out, mode, n);
                    }
                }
                case "model" -> {
                    try (IbotModel model = IbotModel.open(checkpoint, threads)) {
                        model.embedCls(Network.TEACHER, input, n, SIZE, SIZE);
                        report(out, mode, n);
                    }
                }
                case "baseline" -> {
                    // The JVM with LibTorch and ibot4j loaded and no weights: what both paths start from.
                    NativeLibrary.load();
                    report(out, mode, 0);
                }
                default -> throw new IllegalArgumentException("--rss encoder, model or baseline, got " + mode);
            }
        }
    }

    private static void report(PrintStream out, String mode, int n) throws IOException {
        long rss = 0;
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) rss = Long.parseLong(line.replaceAll("\\D", "")) * 1024;
        }
        out.printf(Locale.ROOT, "rss %s: %d MiB resident after embedding %d images, peak %d MiB%n", mode, rss >> 20, n,
                RunEstimate.peakResidentBytes() >> 20);
    }

    private static BufferedImage grey(IdxDataset data, int i) {
        BufferedImage image = new BufferedImage(data.cols(), data.rows(), BufferedImage.TYPE_BYTE_GRAY);
        image.getRaster().setDataElements(0, 0, data.cols(), data.rows(), data.images()[i % data.size()]);
        return image;
    }
}
