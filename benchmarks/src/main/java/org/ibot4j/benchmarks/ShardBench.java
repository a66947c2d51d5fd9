package org.ibot4j.benchmarks;

import java.awt.image.BufferedImage;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;
import org.ibot4j.api.IbotConfig;
import org.ibot4j.trainer.data.Datasets;
import org.ibot4j.trainer.data.FileImageSource;
import org.ibot4j.trainer.data.IdxDataset;
import org.ibot4j.trainer.data.MaskingPolicy;
import org.ibot4j.trainer.data.MultiCropAugmentation;
import org.ibot4j.trainer.data.MultiCropLoader;
import org.ibot4j.trainer.data.ShardOptions;
import org.ibot4j.trainer.data.ShardPaths;
import org.ibot4j.trainer.data.ShardWriter;
import org.ibot4j.trainer.data.ShardedImageSource;
import org.ibot4j.trainer.data.shards.TarWriter;

/**
 * {@code ci/bench-data}'s shard rows: the loader on WebDataset and Parquet shards of the same 256 px JPEGs
 * as the folder row (2x224 + 10x96, 1 and 2 workers) and the ratio shards / folder; then the peak
 * resident memory of a process that opens WebDataset shards of N images (copies of one 28 px JPEG, 10,000
 * a shard) and streams batches of 64 from them (2x32 + 4x16 crops, 2 workers), for growing N, each in
 * its own JVM of 64 MiB heap so each peak is its own; and the live heap after a GC while it streams
 * (the peak also holds the garbage of reading, which the heap's sizing decides): flat when nothing is
 * listed per image.
 */
public final class ShardBench {
    private ShardBench() {}

    public static void run(Path data, Path jpegDir, Path shardDir, int batches, List<Integer> rssImages, PrintStream out) throws Exception {
        IdxDataset train = IdxDataset.read(data, "train").head(512);
        FileImageSource jpegs = DataBench.jpegFolder(train, jpegDir, 256);
        IbotConfig vitS = IbotConfig.builder().build();
        MultiCropAugmentation published = new MultiCropAugmentation(MultiCropAugmentation.Options.published(10, 224, 96));
        out.println("| config | workers | batch | batches/s | images/s |");
        out.println("|---|---|---|---|---|");
        List<String> ratios = new ArrayList<>();
        for (ShardPaths.Format format : ShardPaths.Format.values()) {
            Path dir = shardDir.resolve(format.name().toLowerCase(Locale.ROOT));
            String spec = Files.isDirectory(dir) ? dir.toString() : ShardWriter.write(jpegs, format, 64, dir).data();
            ShardedImageSource shards = Datasets.openShards(spec, ShardOptions.DEFAULT);
            for (int workers : new int[] {1, 2}) {
                double folder = DataBench.measure(out, "JPEG folder 256 px, 2x224 + 10x96", jpegs, published, vitS, 16, workers, batches);
                double sharded = DataBench.measure(out, shards.format() + " shards (64 a shard) of the same JPEGs", shards, published, vitS, 16, workers,
                        batches);
                ratios.add(String.format(Locale.ROOT, "%s shards vs folder, %d worker%s: %.2fx", shards.format(), workers, workers == 1 ? "" : "s",
                        sharded / folder));
            }
        }
        out.println();
        ratios.forEach(out::println);
        out.println();
        out.println("| images in the shards | shards | open (count) s | peak RSS MiB after streaming | live heap MiB after GC |");
        out.println("|---|---|---|---|---|");
        for (int n : rssImages) {
            Path dir = shardDir.resolve("rss-" + n);
            byte[] jpeg = smallJpeg(train);
            int perShard = 10_000;
            if (!Files.isDirectory(dir)) writeCopies(dir, jpeg, n, perShard);
            int shards = (n + perShard - 1) / perShard;
            String spec = dir.resolve("rss-{000000.." + String.format(Locale.ROOT, "%06d", shards - 1) + "}.tar").toString();
            // 64 MiB of heap: room for what streaming keeps (5-6 MiB live) and little for the JVM to grow into, so that
            // the peak RSS shows what the number of images costs rather than how far the heap was let to grow.
            Process child = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx64m",
                    "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"), ShardBench.class.getName(), spec,
                    Integer.toString(batches)).redirectError(ProcessBuilder.Redirect.DISCARD).start();
            String line = new String(child.getInputStream().readAllBytes()).strip();
            if (child.waitFor() != 0) throw new IOException("the RSS child for " + n + " images failed: " + line);
            out.printf(Locale.ROOT, "| %d | %d | %s |%n", n, shards, line);
        }
    }

    /** The first Fashion-MNIST image as a 28 x 28 JPEG (about 700 bytes: 1.5 KB a sample in a tar, headers and padding included). */
    private static byte[] smallJpeg(IdxDataset data) throws IOException {
        BufferedImage img = new BufferedImage(data.cols(), data.rows(), BufferedImage.TYPE_BYTE_GRAY);
        img.getRaster().setDataElements(0, 0, data.cols(), data.rows(), data.images()[0]);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(img, "jpg", out);
        return out.toByteArray();
    }

    /** N copies of one JPEG as WebDataset samples, {@code perShard} to a tar. */
    private static void writeCopies(Path dir, byte[] jpeg, int n, int perShard) throws IOException {
        Files.createDirectories(dir);
        for (int start = 0, shard = 0; start < n; start += perShard, shard++) {
            Path file = dir.resolve(String.format(Locale.ROOT, "rss-%06d.tar", shard));
            try (OutputStream out = Files.newOutputStream(file)) {
                TarWriter tar = new TarWriter(new BufferedOutputStream(out, 1 << 20));
                for (int i = start; i < Math.min(n, start + perShard); i++) tar.add(String.format(Locale.ROOT, "%09d.jpg", i), jpeg);
                tar.finish();
            }
        }
    }

    /** The child: opens the shards, streams {@code args[1]} batches of 64 at 2x32 + 4x16, prints open seconds and peak RSS. */
    public static void main(String[] args) throws Exception {
        long start = System.nanoTime();
        ShardedImageSource source = Datasets.openShards(args[0], ShardOptions.DEFAULT);
        double open = (System.nanoTime() - start) / 1e9;
        IbotConfig tiny = IbotConfig.builder().imgSize(32).patchSize(8).embedDim(64).depth(1).numHeads(2).build();
        MultiCropAugmentation small = new MultiCropAugmentation(MultiCropAugmentation.Options.published(4, 32, 16));
        long live;
        try (MultiCropLoader loader = new MultiCropLoader(source, small, MaskingPolicy.published(), tiny, 64, 2, 3, 0, 0)) {
            for (int i = 0; i < Integer.parseInt(args[1]); i++) loader.next();
            // What the open source and the running loader hold (shuffle buffers included), without the garbage of reading.
            System.gc();
            live = Runtime.getRuntime().totalMemory() - Runtime.getRuntime().freeMemory();
        }
        long peakKb = 0;
        for (String l : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (l.startsWith("VmHWM:")) peakKb = Long.parseLong(l.replaceAll("[^0-9]", ""));
        }
        System.out.printf(Locale.ROOT, "%.1f | %.0f | %.0f%n", open, peakKb / 1024.0, live / 1048576.0);
    }
}
