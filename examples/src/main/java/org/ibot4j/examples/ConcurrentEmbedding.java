package org.ibot4j.examples;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.ibot4j.api.Encoder;
import org.ibot4j.api.IbotConfig;
import org.ibot4j.api.IbotModel;
import org.ibot4j.api.io.AtomicFiles;
import org.ibot4j.trainer.data.IdxDataset;

/**
 * One {@link Encoder} shared by 8 threads, as a service shares it between request threads: the
 * Fashion-MNIST test images are split into 8 slices, embedded once slice after slice on one thread and
 * once by 8 threads at the same time, and the two results are compared. Needs
 * {@code --enable-native-access=ALL-UNNAMED}; exits with status 1 when they differ.
 *
 * <p>Arguments: an optional output folder for the checkpoint (default: a new temporary folder).
 */
public final class ConcurrentEmbedding {
    static final int THREADS = 8;

    public static void main(String[] args) throws Exception {
        Path out = args.length > 0 ? Files.createDirectories(Path.of(args[0])) : Files.createTempDirectory("ibot4j-concurrent");
        // A freshly initialised ViT is enough to show the concurrency; any checkpoint or .pth works the same.
        IbotConfig config = IbotConfig.builder().imgSize(32).patchSize(4).embedDim(64).depth(2).numHeads(2)
                .outDim(256).patchOutDim(256).hiddenDim(128).bottleneckDim(64).numThreads(1).build();
        Path checkpoint = out.resolve("concurrent.ckpt");
        try (IbotModel model = IbotModel.create(config)) {
            AtomicFiles.writeToPath(checkpoint, temporary -> model.save(temporary, "{}"));
        }

        String dataDir = System.getenv().getOrDefault("IBOT4J_FASHION_MNIST", "/usr/share/datasets/fashion-mnist");
        List<List<BufferedImage>> slices = slices(IdxDataset.read(Path.of(dataDir), "t10k"), THREADS);
        int n = slices.stream().mapToInt(List::size).sum();

        // One LibTorch thread per call: the 8 calling threads are the parallelism.
        try (Encoder encoder = Encoder.open(checkpoint, Encoder.Options.defaults().threads(1))) {
            List<float[][]> alone = new ArrayList<>();
            for (List<BufferedImage> slice : slices) alone.add(encoder.embed(slice));

            ExecutorService pool = Executors.newFixedThreadPool(THREADS);
            List<float[][]> together = new ArrayList<>();
            long start = System.nanoTime();
            try {
                List<Future<float[][]>> running = new ArrayList<>();
                for (List<BufferedImage> slice : slices) running.add(pool.submit(() -> encoder.embed(slice)));
                for (Future<float[][]> f : running) together.add(f.get());
            } finally {
                pool.shutdown();
            }
            double seconds = (System.nanoTime() - start) / 1e9;

            double maxDiff = 0;
            for (int s = 0; s < THREADS; s++) {
                for (int i = 0; i < alone.get(s).length; i++) {
                    for (int d = 0; d < encoder.dim(); d++) maxDiff = Math.max(maxDiff, Math.abs(alone.get(s)[i][d] - together.get(s)[i][d]));
                }
            }
            System.out.printf(Locale.ROOT, "concurrent embedding: %d threads, %d images, max |diff| vs one thread: %s, %.0f images/s%n",
                    THREADS, n, maxDiff, n / seconds);
            if (maxDiff != 0) {
                System.err.println("ConcurrentEmbedding FAILED: threads changed the features");
                System.exit(1);
            }
        }
    }

    /** The images as 8-bit grey pictures, cut into {@code parts} consecutive slices. */
    static List<List<BufferedImage>> slices(IdxDataset data, int parts) {
        List<List<BufferedImage>> out = new ArrayList<>();
        int per = (data.size() + parts - 1) / parts;
        for (int p = 0; p < parts; p++) {
            List<BufferedImage> slice = new ArrayList<>();
            for (int i = p * per; i < Math.min(data.size(), (p + 1) * per); i++) {
                BufferedImage image = new BufferedImage(data.cols(), data.rows(), BufferedImage.TYPE_BYTE_GRAY);
                image.getRaster().setDataElements(0, 0, data.cols(), data.rows(), data.images()[i]);
                slice.add(image);
            }
            out.add(slice);
        }
        return out;
    }
}
