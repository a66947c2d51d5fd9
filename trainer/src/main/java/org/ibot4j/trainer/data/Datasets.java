package org.ibot4j.trainer.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.ibot4j.api.io.SpecialFiles;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns a {@code --data} argument into images: the name {@code fashion-mnist} (Debian's
 * dataset-fashion-mnist), a folder of IDX files, a folder of CIFAR-10 binary batches, an image folder
 * (ImageFolder classes or flat; with {@code train/} and {@code val/} sub-folders the splits are those),
 * or a list file of image paths.
 */
public final class Datasets {
    /** Where Debian's dataset-fashion-mnist installs the IDX files. */
    public static final Path FASHION_MNIST = Path.of("/usr/share/datasets/fashion-mnist");

    public enum Split { TRAIN, TEST }

    private static final Logger LOG = LoggerFactory.getLogger(Datasets.class);

    private Datasets() {}

    public static ImageSource open(String spec, Split split) throws IOException {
        return open(spec, split, ShardOptions.DEFAULT);
    }

    /** As {@link #open(String, Split)}, with the options for sharded data ({@link ShardPaths}). */
    public static ImageSource open(String spec, Split split, ShardOptions shards) throws IOException {
        if (spec == null || spec.isBlank()) throw new IllegalArgumentException("no data given (--data PATH or --data fashion-mnist)");
        if (ShardPaths.namesShards(spec)) {
            if (split == Split.TEST) throw new IllegalArgumentException(spec + " names shards: they have no test split; give the labelled evaluation images separately");
            return openShards(spec, shards);
        }
        Path path = resolve(spec);
        if (Files.isRegularFile(path)) {
            if (split == Split.TEST) throw new IllegalArgumentException(path + " is a list file: it has no test split; give a labelled folder");
            return FileImageSource.list(path);
        }
        if (!Files.exists(path)) throw new IOException(spec + ": " + path.toAbsolutePath() + " does not exist");
        if (!Files.isDirectory(path)) {
            throw new IOException(spec + " is " + SpecialFiles.kind(path) + ": give a folder of images, IDX or CIFAR-10 "
                    + "files, or a list file of image paths");
        }
        if (hasIdx(path)) return new IdxSource(IdxDataset.read(path, split == Split.TRAIN ? "train" : "t10k"));
        Path cifar = Files.isDirectory(path.resolve("cifar-10-batches-bin")) ? path.resolve("cifar-10-batches-bin") : path;
        if (Files.exists(cifar.resolve("data_batch_1.bin")) || Files.exists(cifar.resolve("test_batch.bin"))) {
            return Cifar10Source.read(cifar, split == Split.TRAIN ? "data_batch" : "test_batch");
        }
        Path sub = path.resolve(split == Split.TRAIN ? "train" : "val");
        if (Files.isDirectory(sub)) return FileImageSource.folder(sub);
        if (split == Split.TEST) {
            throw new IllegalArgumentException(path + " has no val/ folder: give the labelled evaluation images separately");
        }
        return FileImageSource.folder(path);
    }

    /** WebDataset or Parquet shards, streamed. */
    public static ShardedImageSource openShards(String spec, ShardOptions options) throws IOException {
        List<Path> files = ShardPaths.expand(spec);
        return switch (ShardPaths.format(files, spec)) {
            case WEBDATASET -> new WebDatasetSource(files, options.shuffleBuffer());
            case PARQUET -> new ParquetSource(files, options);
        };
    }

    /** The path a {@code --data} argument means, without opening it. */
    public static Path resolve(String spec) throws IOException {
        if (spec.equalsIgnoreCase("fashion-mnist") || spec.equalsIgnoreCase("fashion_mnist")) {
            if (!hasIdx(FASHION_MNIST)) {
                throw new IOException("Fashion-MNIST is not in " + FASHION_MNIST
                        + "; install it with 'sudo apt-get install dataset-fashion-mnist', or pass --data DIR with its IDX files.");
            }
            return FASHION_MNIST;
        }
        return Path.of(spec);
    }

    private static boolean hasIdx(Path dir) {
        for (String prefix : new String[] {"train", "t10k"}) {
            for (String suffix : new String[] {"", ".gz"}) {
                if (Files.isRegularFile(dir.resolve(prefix + "-images-idx3-ubyte" + suffix))) return true;
            }
        }
        return false;
    }

    /** The first N items of a source (a quick run on part of a dataset); the whole source when N is 0 or more than it has. */
    public static ImageSource head(ImageSource source, int n) {
        if (n <= 0 || n >= source.size()) return source;
        return new ImageSource() {
            @Override public int size() { return n; }
            @Override public int label(int index) { return source.label(check(index)); }
            @Override public int numClasses() { return source.numClasses(); }
            @Override public RgbImage load(int index) throws IOException { return source.load(check(index)); }
            @Override public EncodedImage open(int index) throws IOException { return source.open(check(index)); }
            @Override public String describe(int index) { return source.describe(check(index)); }
            @Override public String identify(int index) { return source.identify(check(index)); }

            private int check(int index) {
                if (index < 0 || index >= n) throw new IndexOutOfBoundsException(index + " outside [0, " + n + ")");
                return index;
            }
        };
    }

    /**
     * Width and height of the first readable image, for size-dependent defaults. Unreadable items are
     * skipped as the loader skips them (a folder may start with junk such as macOS {@code ._*.jpg}
     * resource forks), each with a warning; only a dataset with no readable item at all is refused,
     * naming it, how many items were tried and why the first one failed.
     *
     * @param source the training images
     * @param where the data as the user named it, for the message
     * @return {width, height}
     */
    public static int[] sizeOfFirst(ImageSource source, String where) {
        String firstFailure = null;
        int skipped = 0;
        for (int i = 0; i < source.size(); i++) {
            try {
                RgbImage image = source.load(i);
                if (skipped > 0) LOG.warn("skipped {} unreadable item(s) at the start of {} (first: {})", skipped, where, firstFailure);
                return new int[] {image.width(), image.height()};
            } catch (IOException e) {
                if (firstFailure == null) firstFailure = source.describe(i) + ": " + e.getMessage();
                skipped++;
            }
        }
        throw new IllegalArgumentException("no image of " + where + " could be read (" + source.size() + " item(s) tried; the first, "
                + firstFailure + ")");
    }
}
