package org.ibot4j.examples.spark;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.imageio.ImageIO;
import org.apache.spark.sql.DataFrameWriter;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.ibot4j.trainer.data.Datasets;
import org.ibot4j.trainer.data.FileImageSource;
import org.ibot4j.trainer.data.ShardOptions;
import org.ibot4j.trainer.data.ShardPaths;
import org.ibot4j.trainer.data.ShardWriter;
import org.ibot4j.trainer.data.ShardedImageSource;

/**
 * Parquet shards both ways between ibot4j and Spark: Spark reads what {@code ibot4j shard --format
 * parquet} writes (every row, every image byte, every label), and ibot4j's reader takes the tables
 * Spark writes (its default Snappy, gzip, and a Hugging Face-like {@code image} struct of bytes and
 * path; a null image and a null label among the rows). ZSTD, which ibot4j does not read, is refused
 * with a sentence. Exits non-zero on any difference.
 */
public final class ParquetShards {
    private ParquetShards() {}

    public static void main(String[] args) throws Exception {
        Path work = Path.of(args[0]);
        FashionImages fashion = FashionImages.read("t10k", 40);
        Path folder = work.resolve("images");
        for (int i = 0; i < fashion.size(); i++) {
            Path dir = Files.createDirectories(folder.resolve("class" + fashion.labels()[i]));
            ImageIO.write(fashion.image(i), "png", dir.resolve("img" + i + ".png").toFile());
        }
        FileImageSource images = FileImageSource.folder(folder);
        long bytes = 0, labels = 0;
        for (int i = 0; i < images.size(); i++) {
            bytes += Files.size(images.path(i));
            labels += images.label(i);
        }
        ShardWriter.Written shards = ShardWriter.write(images, ShardPaths.Format.PARQUET, 16, work.resolve("ibot4j-shards"));
        boolean ok = true;
        try (SparkSession spark = Sessions.start("local[2]", "ibot4j-parquet-shards")) {
            Row read = spark.read().parquet(work.resolve("ibot4j-shards").toString())
                    .selectExpr("count(*)", "sum(length(image))", "sum(label)", "count(distinct key)").first();
            boolean same = read.getLong(0) == images.size() && read.getLong(1) == bytes && read.getLong(2) == labels && read.getLong(3) == images.size();
            ok &= same;
            System.out.printf("spark parquet: ibot4j's %d shards read by Spark: %d rows, %d image bytes, label sum %d (the folder: %d, %d, %d)%s%n",
                    shards.files().size(), read.getLong(0), read.getLong(1), read.getLong(2), images.size(), bytes, labels, same ? "" : " DIFFERENT");

            StructType schema = new StructType().add("key", DataTypes.StringType).add("image", DataTypes.BinaryType, true)
                    .add("label", DataTypes.IntegerType, true);
            List<Row> rows = new ArrayList<>();
            long expectedLabels = 0;
            for (int i = 0; i < images.size(); i++) {
                // row 3 has no image, row 5 no label
                rows.add(RowFactory.create("k" + i, i == 3 ? null : Files.readAllBytes(images.path(i)), i == 5 ? null : images.label(i)));
                if (i != 5) expectedLabels += images.label(i);
            }
            Dataset<Row> table = spark.createDataFrame(rows, schema).repartition(2);
            String codec = spark.conf().get("spark.sql.parquet.compression.codec");
            ok &= check(table.write(), "", work.resolve("spark-default"), "Spark's default (" + codec + ")", images.size(), expectedLabels);
            ok &= check(table.write(), "gzip", work.resolve("spark-gzip"), "gzip", images.size(), expectedLabels);
            ok &= check(table.selectExpr("named_struct('bytes', image, 'path', key) AS image", "label").write(), "", work.resolve("spark-struct"),
                    "image struct (image.bytes)", images.size(), expectedLabels);
            Path zstd = work.resolve("spark-zstd");
            table.write().mode(SaveMode.Overwrite).option("compression", "zstd").parquet(zstd.toString());
            try {
                Datasets.openShards(zstd.toString(), ShardOptions.DEFAULT);
                System.out.println("spark parquet: zstd read, though ibot4j has no ZSTD decoder: DIFFERENT");
                ok = false;
            } catch (IOException e) {
                System.out.println("spark parquet: zstd refused: " + e.getMessage().replace(zstd + "/", ""));
            }
        }
        if (!ok) System.exit(1);
    }

    /** Writes {@code writer}'s table as Parquet and reads it back with ibot4j: every row, the one null image skipped, every label. */
    private static boolean check(DataFrameWriter<Row> writer, String compression, Path out, String what, int rows, long labels) throws IOException {
        DataFrameWriter<Row> w = writer.mode(SaveMode.Overwrite);
        if (!compression.isEmpty()) w = w.option("compression", compression);
        w.parquet(out.toString());
        ShardedImageSource source = Datasets.openShards(out.toString(), ShardOptions.DEFAULT);
        int decoded = 0, unreadable = 0;
        long labelSum = 0;
        for (int i = 0; i < source.size(); i++) {
            labelSum += Math.max(0, source.label(i));
            try {
                if (source.load(i).width() == 28) decoded++;
            } catch (IOException e) {
                unreadable++;
            }
        }
        boolean same = source.size() == rows && decoded == rows - 1 && unreadable == 1 && labelSum == labels;
        System.out.printf("spark parquet: %s read by ibot4j: %d rows (%d images decoded, %d null), label sum %d (expected %d rows, %d, 1, %d)%s%n", what,
                source.size(), decoded, unreadable, labelSum, rows, rows - 1, labels, same ? "" : " DIFFERENT");
        return same;
    }
}
