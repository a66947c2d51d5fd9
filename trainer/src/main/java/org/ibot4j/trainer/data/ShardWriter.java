package org.ibot4j.trainer.data;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import org.ibot4j.api.io.AtomicFiles;
import org.ibot4j.trainer.data.shards.ParquetWriter;
import org.ibot4j.trainer.data.shards.TarWriter;

/**
 * Writes the images of a folder (ImageFolder classes or flat) into shards, each file's bytes as they
 * are (no re-encoding): WebDataset tars ({@code KEY.jpg} + {@code KEY.cls} when labelled) or Parquet
 * tables ({@code image}, {@code label}, {@code key}). The images go in a fixed shuffled order (seed 0),
 * so every shard mixes the classes, as WebDataset advises; a key is the image's path in the folder
 * without its extension, dots made underscores (a WebDataset key ends at the first dot). Each shard is
 * written atomically: an interrupted run leaves whole shards only.
 */
public final class ShardWriter {
    /** What was written: the shard files, the images in them, and the {@code --data} argument that reads them. */
    public record Written(List<Path> files, int images, String data) {}

    private ShardWriter() {}

    /** The first shard's name, for checks before writing. */
    public static String name(ShardPaths.Format format, int shard) {
        return String.format(Locale.ROOT, "shard-%06d.%s", shard, format == ShardPaths.Format.WEBDATASET ? "tar" : "parquet");
    }

    public static Written write(FileImageSource images, ShardPaths.Format format, int shardSize, Path output) throws IOException {
        if (shardSize < 1) throw new IllegalArgumentException("--shard_size must be at least 1, not " + shardSize);
        int n = images.size();
        int[] order = new int[n];
        for (int i = 0; i < n; i++) order[i] = i;
        SplittableRandom random = new SplittableRandom(0);
        for (int i = n - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int t = order[i]; order[i] = order[j]; order[j] = t;
        }
        boolean labelled = images.numClasses() > 0;
        List<Path> files = new ArrayList<>();
        for (int start = 0, shard = 0; start < n; start += shardSize, shard++) {
            int from = start, to = Math.min(n, start + shardSize);
            Path file = output.resolve(name(format, shard));
            AtomicFiles.write(file, out -> {
                if (format == ShardPaths.Format.WEBDATASET) {
                    TarWriter tar = new TarWriter(out);
                    for (int k = from; k < to; k++) {
                        int i = order[k];
                        String key = key(images.identify(i));
                        tar.add(key + "." + extension(images.path(i)), Files.readAllBytes(images.path(i)));
                        if (labelled) tar.add(key + ".cls", Integer.toString(images.label(i)).getBytes(StandardCharsets.US_ASCII));
                    }
                    tar.finish();
                } else {
                    ParquetWriter table = new ParquetWriter(out, labelled);
                    for (int k = from; k < to; k++) {
                        int i = order[k];
                        table.add(key(images.identify(i)), Files.readAllBytes(images.path(i)), images.label(i));
                    }
                    table.finish();
                }
            });
            files.add(file);
        }
        String last = String.format(Locale.ROOT, "%06d", files.size() - 1);
        String data = files.size() == 1 ? files.get(0).toString()
                : output.resolve(name(format, 0).replace("000000", "{000000.." + last + "}")).toString();
        return new Written(files, n, data);
    }

    /** "cat/img.0.png" to "cat/img_0". */
    static String key(String relative) {
        String path = relative.replace('\\', '/');
        int slash = path.lastIndexOf('/');
        int dot = path.lastIndexOf('.');
        if (dot > slash) path = path.substring(0, dot);
        return path.substring(0, slash + 1) + path.substring(slash + 1).replace('.', '_');
    }

    private static String extension(Path file) {
        String name = file.getFileName().toString();
        return name.substring(name.lastIndexOf('.') + 1).toLowerCase(Locale.ROOT);
    }
}
