package org.ibot4j.trainer.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.stream.Stream;
import org.ibot4j.api.io.SpecialFiles;
import org.ibot4j.trainer.data.FileImageSource;
import org.ibot4j.trainer.data.ShardPaths;
import org.ibot4j.trainer.data.ShardWriter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code ibot4j shard}: a folder of images into WebDataset tars or Parquet tables, for streamed training. */
@Command(name = "shard", header = "a folder of images into WebDataset or Parquet shards", mixinStandardHelpOptions = true, showDefaultValues = true,
        sortOptions = false,
        description = {"Writes the images of a folder (ImageFolder classes or flat) into shards of --shard_size images, each",
                "file's bytes as they are, in a fixed shuffled order: WebDataset tars (KEY.jpg + KEY.cls) or Parquet tables",
                "(image, label, key). Prints the --data argument that trains on them."})
final class ShardCommand extends Ibot4jCommand {
    @Option(names = "--images", required = true, paramLabel = "DIR", description = "folder of images (ImageFolder classes or flat)")
    Path images;

    @Option(names = "--format", required = true, paramLabel = "FORMAT", description = "webdataset or parquet")
    String format;

    @Option(names = "--shard_size", paramLabel = "N", description = "images per shard")
    int shardSize = 1000;

    @Option(names = "--output", required = true, paramLabel = "DIR", description = "folder for the shards (created; must hold no shards yet)")
    Path output;

    @Override
    public Integer call() throws Exception {
        ShardPaths.Format f = switch (format.toLowerCase(Locale.ROOT)) {
            case "webdataset", "wds", "tar" -> ShardPaths.Format.WEBDATASET;
            case "parquet" -> ShardPaths.Format.PARQUET;
            default -> throw new IllegalArgumentException("--format " + format + ": give webdataset or parquet");
        };
        if (shardSize < 1) throw new IllegalArgumentException("--shard_size must be at least 1, not " + shardSize);
        if (!Files.isDirectory(images)) throw new IllegalArgumentException("--images " + images + " is not a folder");
        if (Files.exists(output) && !Files.isDirectory(output)) {
            throw new IllegalArgumentException("--output " + output + " is " + SpecialFiles.kind(output) + ", not a folder");
        }
        if (Files.isDirectory(output)) {
            try (Stream<Path> s = Files.list(output)) {
                if (s.anyMatch(p -> p.getFileName().toString().startsWith("shard-"))) {
                    throw new IllegalArgumentException("--output " + output + " already holds shards: choose an empty folder, so no old shard is read with the new ones");
                }
            }
        }
        FileImageSource source = FileImageSource.folder(images);
        ShardWriter.Written written = ShardWriter.write(source, f, shardSize, output);
        out.printf(Locale.ROOT, "wrote %d images (%d classes) into %d %s shard(s) in %s%ntrain on them with: --data '%s'%n", written.images(),
                source.numClasses(), written.files().size(), f == ShardPaths.Format.WEBDATASET ? "WebDataset" : "Parquet", output, written.data());
        return 0;
    }
}
