package org.ibot4j.trainer.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * Which shard files a {@code --data} argument names: a brace pattern as webdataset writes them
 * ({@code train-{000000..000099}.tar}: a numeric range, zero-padded to the width of its first bound;
 * or {@code {a,b,c}}; several braces multiply), one {@code .tar} ({@code .tar.gz}, {@code .tgz}) or
 * {@code .parquet} file, or a folder
 * whose files are shards (Spark's output folders included: hidden, {@code _SUCCESS} and {@code .crc}
 * files are passed over).
 */
public final class ShardPaths {
    /** The formats, by file extension. */
    public enum Format { WEBDATASET, PARQUET }

    private ShardPaths() {}

    /** Whether {@code spec} names shards rather than images, IDX or CIFAR files. */
    public static boolean namesShards(String spec) {
        if (spec.contains("{") && spec.contains("}")) return true;
        if (formatOf(Path.of(spec)) != null && Files.isRegularFile(Path.of(spec))) return true;
        Path dir = Path.of(spec);
        return Files.isDirectory(dir) && !shardFiles(dir).isEmpty() && !hasImages(dir);
    }

    /** The shard files of {@code spec}, in order; every one must exist. */
    public static List<Path> expand(String spec) throws IOException {
        List<Path> files;
        if (spec.contains("{")) {
            files = braces(spec).stream().map(Path::of).toList();
        } else if (Files.isDirectory(Path.of(spec))) {
            files = shardFiles(Path.of(spec));
        } else {
            files = List.of(Path.of(spec));
        }
        List<Path> missing = files.stream().filter(p -> !Files.isRegularFile(p)).toList();
        if (!missing.isEmpty()) {
            throw new IOException(missing.size() + " of the " + files.size() + " shard(s) " + spec + " names are missing or not files: "
                    + String.join(", ", missing.stream().limit(5).map(Path::toString).toList()) + (missing.size() > 5 ? ", ..." : ""));
        }
        return files;
    }

    /** The one format of {@code files}; refused when they mix formats or one has neither extension. */
    public static Format format(List<Path> files, String spec) {
        Format format = null;
        for (Path f : files) {
            Format of = formatOf(f);
            if (of == null) throw new IllegalArgumentException(spec + ": " + f + " is neither a .tar, .tar.gz or .tgz (WebDataset) nor a .parquet shard");
            if (format != null && of != format) throw new IllegalArgumentException(spec + " mixes tar and .parquet shards; give one format");
            format = of;
        }
        return format;
    }

    static Format formatOf(Path file) {
        String name = file.getFileName() == null ? "" : file.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".tar") || name.endsWith(".tar.gz") || name.endsWith(".tgz")) return Format.WEBDATASET;
        if (name.endsWith(".parquet")) return Format.PARQUET;
        return null;
    }

    /** Brace expansion: ranges {@code {a..b}} (zero-padded as {@code a} is written) and lists {@code {x,y}}. */
    static List<String> braces(String pattern) {
        int open = pattern.indexOf('{');
        if (open < 0) return List.of(pattern);
        int close = pattern.indexOf('}', open);
        if (close < 0) throw new IllegalArgumentException(pattern + ": a '{' without its '}'");
        String inside = pattern.substring(open + 1, close);
        List<String> choices = new ArrayList<>();
        int dots = inside.indexOf("..");
        if (dots >= 0) {
            String from = inside.substring(0, dots), to = inside.substring(dots + 2);
            long a, b;
            try {
                a = Long.parseLong(from);
                b = Long.parseLong(to);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(pattern + ": {" + inside + "} is not a range of whole numbers such as {000000..000099}");
            }
            if (b < a) throw new IllegalArgumentException(pattern + ": the range {" + inside + "} runs backwards");
            if (b - a >= 10_000_000) throw new IllegalArgumentException(pattern + ": the range {" + inside + "} names over ten million shards");
            int width = from.length();
            for (long v = a; v <= b; v++) choices.add(String.format(Locale.ROOT, "%0" + width + "d", v));
        } else {
            for (String c : inside.split(",", -1)) choices.add(c);
        }
        List<String> out = new ArrayList<>();
        for (String c : choices) {
            for (String rest : braces(pattern.substring(close + 1))) out.add(pattern.substring(0, open) + c + rest);
        }
        return out;
    }

    private static List<Path> shardFiles(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> formatOf(p) != null && !p.getFileName().toString().startsWith(".")
                    && !p.getFileName().toString().startsWith("_") && Files.isRegularFile(p)).sorted().toList();
        } catch (IOException e) {
            return List.of();
        }
    }

    private static boolean hasImages(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.anyMatch(p -> Files.isDirectory(p) || FileImageSource.isImageFile(p));
        } catch (IOException e) {
            return false;
        }
    }
}
