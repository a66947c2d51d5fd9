package org.ibot4j.examples.spark;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import org.apache.spark.SparkFiles;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.ibot4j.api.Encoder;
import org.ibot4j.api.io.SafeTensors;

/**
 * Embedding a folder of images with Spark: {@code binaryFile} reads the PNGs, each partition embeds its
 * images with the executor JVM's one {@link ExecutorEncoder} (shared by the JVM's tasks), and the job
 * writes Parquet (path, label, features). The checkpoint travels to the executors with
 * {@code SparkContext.addFile}, so they need only the jar, ibot4j-native and LibTorch.
 *
 * <p>Checks, each failing the program with status 1: the features of every image equal those
 * {@code ibot4j embed} writes for the same files within 1e-5; the JVM opened one encoder for all the
 * partitions of every job. Runs on {@code local[2]} and {@code local[1]} and prints both throughputs.
 *
 * <p>Arguments: a work folder, the weights (an ibot4j checkpoint or run folder), the ibot4j launcher, and the
 * number of Fashion-MNIST test images (default 2000).
 */
public final class SparkEmbedding {
    static final double TOLERANCE = 1e-5;
    static final int BATCH = 64;
    static final StructType SCHEMA = new StructType().add("path", DataTypes.StringType, false).add("label", DataTypes.IntegerType, false)
            .add("features", DataTypes.createArrayType(DataTypes.FloatType, false), false);

    record Result(String master, int images, int partitions, double maxDiff, double imagesPerSecond) {}

    public static void main(String[] args) throws Exception {
        Path work = Path.of(args[0]).toAbsolutePath();
        Path weights = Path.of(args[1]).toAbsolutePath();
        // A run folder stands for its newest checkpoint (the file is what addFile ships to the executors).
        Path checkpoint = Files.isDirectory(weights) ? BarrierPretraining.newestCheckpoint(weights)
                .orElseThrow(() -> new IOException("no checkpoint in " + weights)) : weights;
        Path launcher = Path.of(args[2]).toAbsolutePath();
        int count = args.length > 3 ? Integer.parseInt(args[3]) : 2000;
        BarrierPretraining.deleteTree(work);
        Path pngs = writePngs(FashionImages.read("t10k", count), work.resolve("png"));

        // The reference: the CLI on the same files.
        Path reference = work.resolve("embed.safetensors");
        long t0 = System.nanoTime();
        runEmbedCli(launcher, checkpoint, pngs, reference, work.resolve("embed.log"));
        System.out.printf(Locale.ROOT, "ibot4j embed: %d images in %.1f s (one JVM start included)%n", count, BarrierPretraining.seconds(t0));
        Map<String, float[]> expected = readReference(reference);

        List<String> problems = new ArrayList<>();
        Result two, one = null;
        if (Sessions.submitted()) {
            // spark-submit's master (the work folder must then be on storage every executor reads)
            two = embed(System.getProperty("spark.master"), pngs, checkpoint, work.resolve("parquet"), expected, problems);
        } else {
            // A first local[2] job, checked but not reported: the first job of a JVM pays for class loading, JIT and opening the encoder.
            embed("local[2]", pngs, checkpoint, work.resolve("parquet-warmup"), expected, problems);
            two = embed("local[2]", pngs, checkpoint, work.resolve("parquet-local2"), expected, problems);
            one = embed("local[1]", pngs, checkpoint, work.resolve("parquet-local1"), expected, problems);
            int[] counts = ExecutorEncoder.counts();
            System.out.printf(Locale.ROOT, "encoders opened in this JVM: %d, for %d partitions of 3 jobs%n", counts[0], counts[1]);
            if (counts[0] != 1) problems.add("expected one encoder for the whole JVM (local mode), it opened " + counts[0]);
            System.out.printf(Locale.ROOT, "local[1]: %d images, %d partitions, max |diff| vs embed: %s, %.0f images/s%n", one.images(),
                    one.partitions(), difference(one.maxDiff()), one.imagesPerSecond());
        }
        System.out.printf(Locale.ROOT, "spark embedding: %d images, %d partitions -> parquet, max |diff| vs embed: %s, %.0f images/s%n",
                two.images(), two.partitions(), difference(two.maxDiff()), two.imagesPerSecond());
        if (one != null) {
            System.out.printf(Locale.ROOT, "throughput: local[1] %.0f images/s, local[2] %.0f images/s (x%.2f; indicative: a shared machine)%n",
                    one.imagesPerSecond(), two.imagesPerSecond(), two.imagesPerSecond() / one.imagesPerSecond());
        }
        if (!problems.isEmpty()) {
            problems.forEach(p -> System.err.println("spark embedding FAILED: " + p));
            System.exit(1);
        }
    }

    /** One job: PNG folder -> Parquet, timed from the read to the written files, then checked against the CLI's features. */
    static Result embed(String master, Path pngs, Path checkpoint, Path out, Map<String, float[]> expected, List<String> problems)
            throws IOException {
        SparkSession spark = Sessions.start(master, "ibot4j embedding");
        // Spark counts every file as at least openCostInBytes (4 MB) when it packs files into partitions: a
        // 1 KB PNG as 4 MB gives ~60 partitions of 32 images for 2,000, and then each task's fixed cost (a
        // Parquet file, its commit) outweighs its images. 8 KB and at least 8 partitions give 8 of ~250 for
        // local[1] and local[2] alike.
        spark.conf().set("spark.sql.files.openCostInBytes", "8192");
        spark.conf().set("spark.sql.files.minPartitionNum", "8");
        try {
            spark.sparkContext().addFile(checkpoint.toString());
            String weights = checkpoint.getFileName().toString();
            long t0 = System.nanoTime();
            Dataset<Row> files = spark.read().format("binaryFile").option("pathGlobFilter", "*.png").option("recursiveFileLookup", "true")
                    .load(pngs.toString()).select("path", "content");
            int partitions = files.rdd().getNumPartitions();
            files.mapPartitions((MapPartitionsFunction<Row, Row>) rows -> embedPartition(rows, weights), Encoders.row(SCHEMA))
                    .write().mode(SaveMode.Overwrite).parquet(out.toString());
            double seconds = BarrierPretraining.seconds(t0);
            double[] inEncoder = ExecutorEncoder.takeEmbedTime();  // local mode: the tasks ran in this JVM
            if (!Sessions.submitted()) System.out.printf(Locale.ROOT, "%s: %.0f images in %.2f s, %.2f s of it (summed over the tasks) in Encoder.embedEncoded%n",
                    master, inEncoder[1], seconds, inEncoder[0]);

            List<Row> written = spark.read().parquet(out.toString()).collectAsList();
            double worst = 0;
            int missing = 0;
            for (Row row : written) {
                float[] want = expected.get(key(row.getString(0)));
                if (want == null) {
                    missing++;
                    continue;
                }
                List<Float> got = row.getList(2);
                if (got.size() != want.length) problems.add(master + ": " + row.getString(0) + " has " + got.size() + " features, embed " + want.length);
                for (int i = 0; i < Math.min(want.length, got.size()); i++) worst = Math.max(worst, Math.abs(got.get(i) - want[i]));
                int label = Integer.parseInt(Path.of(key(row.getString(0))).getParent().toString());
                if (row.getInt(1) != label) problems.add(master + ": " + row.getString(0) + " has label " + row.getInt(1));
            }
            if (written.size() != expected.size() || missing > 0) {
                problems.add(master + ": Parquet has " + written.size() + " rows (" + missing + " not embedded by the CLI), embed wrote "
                        + expected.size());
            }
            if (!(worst <= TOLERANCE)) problems.add(master + ": features differ from ibot4j embed by " + worst + " (tolerance " + TOLERANCE + ")");
            return new Result(master, written.size(), partitions, worst, written.size() / seconds);
        } finally {
            spark.stop();
        }
    }

    /** 0 when equal to the bit (%.3g would print 0.00), else three digits. */
    static String difference(double d) {
        return d == 0 ? "0" : String.format(Locale.ROOT, "%.3g", d);
    }

    /** One partition on an executor: its images in batches of {@link #BATCH} through the JVM's encoder. */
    static Iterator<Row> embedPartition(Iterator<Row> rows, String weights) throws IOException {
        Encoder encoder = ExecutorEncoder.get(Path.of(SparkFiles.get(weights)), 1);
        List<Row> out = new ArrayList<>();
        List<String> paths = new ArrayList<>(BATCH);
        List<byte[]> images = new ArrayList<>(BATCH);
        while (rows.hasNext() || !images.isEmpty()) {
            if (rows.hasNext()) {
                Row row = rows.next();
                paths.add(row.getString(0));
                images.add(row.getAs(1));
                if (images.size() < BATCH && rows.hasNext()) continue;
            }
            long t0 = System.nanoTime();
            float[][] features = encoder.embedEncoded(images);  // PNG decoding, resize and crop, forward pass
            ExecutorEncoder.record(System.nanoTime() - t0, images.size());
            for (int i = 0; i < features.length; i++) {
                out.add(RowFactory.create(paths.get(i), labelOf(paths.get(i)), toBoxed(features[i])));
            }
            paths.clear();
            images.clear();
        }
        return out.iterator();
    }

    /** The class is the image's folder, as in an ImageFolder tree: .../png/7/00042.png has label 7. */
    static int labelOf(String path) {
        String[] parts = path.split("/");
        return Integer.parseInt(parts[parts.length - 2]);
    }

    /** What identifies an image on both sides: its class folder and file name (Spark says file:/..., the CLI a plain path). */
    static String key(String path) {
        String[] parts = path.split("/");
        return parts[parts.length - 2] + "/" + parts[parts.length - 1];
    }

    private static Float[] toBoxed(float[] values) {
        Float[] boxed = new Float[values.length];
        for (int i = 0; i < values.length; i++) boxed[i] = values[i];
        return boxed;
    }

    /** The images as an ImageFolder tree of grey PNGs: png/&lt;label&gt;/&lt;index&gt;.png. */
    static Path writePngs(FashionImages data, Path root) throws IOException {
        for (int i = 0; i < data.size(); i++) {
            Path file = root.resolve(String.valueOf(data.labels()[i])).resolve(String.format(Locale.ROOT, "%05d.png", i));
            Files.createDirectories(file.getParent());
            BufferedImage image = data.image(i);
            if (!ImageIO.write(image, "png", file.toFile())) throw new IOException("no PNG writer for " + file);
        }
        return root;
    }

    static void runEmbedCli(Path launcher, Path checkpoint, Path images, Path out, Path log) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(launcher.toString(), "embed", "--checkpoint", checkpoint.toString(), "--images", images.toString(),
                "--output", out.toString()).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        if (!p.waitFor(10, TimeUnit.MINUTES) || p.exitValue() != 0) {
            p.destroyForcibly();
            throw new IOException(launcher + " embed failed; its output:\n" + Files.readString(log, StandardCharsets.UTF_8));
        }
    }

    /** {@code ibot4j embed}'s safetensors: tensor features [N, D], the file names as a JSON list in the metadata key files. */
    static Map<String, float[]> readReference(Path file) throws IOException {
        try (SafeTensors st = SafeTensors.open(file)) {
            String[] names = new ObjectMapper().readValue(st.metadata().get("files"), String[].class);
            float[] all = st.floats("features");
            int dim = all.length / names.length;
            Map<String, float[]> byKey = new HashMap<>();
            for (int i = 0; i < names.length; i++) {
                float[] row = new float[dim];
                System.arraycopy(all, i * dim, row, 0, dim);
                byKey.put(key(names[i]), row);
            }
            return byKey;
        }
    }
}
