package org.ibot4j.trainer.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import org.ibot4j.api.io.SpecialFiles;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Image files on disk: an ImageFolder tree ({@code root/<class>/<image>}, classes in sorted order as
 * torchvision's ImageFolder), a flat folder of unlabelled images, or a list file of paths (one per
 * line, relative to the list's folder).
 */
public final class FileImageSource implements ImageSource {
    private static final Logger LOG = LoggerFactory.getLogger(FileImageSource.class);
    private static final List<String> EXTENSIONS = List.of(".jpg", ".jpeg", ".png", ".bmp", ".gif");
    private final List<Path> files;
    /** What names are relative to in the data's fingerprint: the folder, or the list file's folder. */
    private final Path root;
    private final int[] labels;
    private final List<String> classes;
    private final boolean jpegsWithImageIo;

    private FileImageSource(Path root, List<Path> files, int[] labels, List<String> classes) {
        this(root, files, labels, classes, false);
    }

    private FileImageSource(Path root, List<Path> files, int[] labels, List<String> classes, boolean jpegsWithImageIo) {
        this.root = root;
        this.files = files;
        this.labels = labels;
        this.classes = classes;
        this.jpegsWithImageIo = jpegsWithImageIo;
    }

    /** The same files, with JPEGs decoded by ImageIO even where libjpeg-turbo is installed (for comparisons). */
    public FileImageSource withJpegsDecodedByImageIo() {
        return new FileImageSource(root, files, labels, classes, true);
    }

    /** An ImageFolder tree when {@code root} has sub-folders with images, else a flat folder. */
    public static FileImageSource folder(Path root) throws IOException {
        if (!Files.isDirectory(root)) throw new IOException(root + " is not a folder");
        List<Path> classDirs;
        try (Stream<Path> s = Files.list(root)) {
            classDirs = s.filter(Files::isDirectory).sorted().toList();
        }
        List<Path> files = new ArrayList<>();
        List<Integer> labels = new ArrayList<>();
        List<String> classes = new ArrayList<>();
        for (Path dir : classDirs) {
            List<Path> images = images(dir);
            if (images.isEmpty()) continue;
            for (Path p : images) {
                files.add(p);
                labels.add(classes.size());
            }
            classes.add(dir.getFileName().toString());
        }
        if (files.isEmpty()) {
            for (Path p : images(root)) {
                files.add(p);
                labels.add(-1);
            }
        }
        if (files.isEmpty()) throw new IOException("no images (" + String.join(", ", EXTENSIONS) + ") in " + root + " or its class folders");
        return new FileImageSource(root, files, labels.stream().mapToInt(Integer::intValue).toArray(), classes);
    }

    /** Unlabelled images listed in a text file, one path per line (blank lines and # comments ignored). */
    public static FileImageSource list(Path listFile) throws IOException {
        Path base = listFile.toAbsolutePath().getParent();
        List<Path> files = new ArrayList<>();
        for (String line : Files.readAllLines(listFile)) {
            String t = line.strip();
            if (!t.isEmpty() && !t.startsWith("#")) files.add(base.resolve(t));
        }
        if (files.isEmpty()) throw new IOException("the list " + listFile + " names no images");
        int[] labels = new int[files.size()];
        Arrays.fill(labels, -1);
        return new FileImageSource(base, files, labels, List.of());
    }

    /** One image file. */
    public static FileImageSource single(Path image) throws IOException {
        if (!Files.isRegularFile(image)) throw new IOException(image + " is not a file");
        if (!isImageFile(image)) throw new IOException(image + " is not an image (" + String.join(", ", EXTENSIONS) + ")");
        return new FileImageSource(image.toAbsolutePath().getParent(), List.of(image), new int[] {-1}, List.of());
    }

    /** Whether the name ends in an image extension this source reads. */
    public static boolean isImageFile(Path file) {
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        return EXTENSIONS.stream().anyMatch(name::endsWith);
    }

    /**
     * The image files of a folder, sorted. Entries with an image's name that are not regular files (a
     * FIFO would block a loader thread, a link loop fails) are left out with one warning naming them.
     */
    private static List<Path> images(Path dir) throws IOException {
        List<Path> named;
        try (Stream<Path> s = Files.list(dir)) {
            named = s.filter(FileImageSource::isImageFile).sorted().toList();
        }
        List<Path> regular = named.stream().filter(Files::isRegularFile).toList();
        if (regular.size() < named.size()) {
            List<String> skipped = named.stream().filter(p -> !Files.isRegularFile(p))
                    .map(p -> p.getFileName() + " (" + SpecialFiles.kind(p) + ")").toList();
            LOG.warn("skipping {} entr{} of {} that {} not regular files: {}", skipped.size(), skipped.size() == 1 ? "y" : "ies", dir,
                    skipped.size() == 1 ? "is" : "are", String.join(", ", skipped.subList(0, Math.min(5, skipped.size())))
                            + (skipped.size() > 5 ? ", ..." : ""));
        }
        return regular;
    }

    /** The file of item {@code index}. */
    public Path path(int index) {
        return files.get(index);
    }

    public List<String> classes() {
        return classes;
    }

    @Override public int size() { return files.size(); }
    @Override public int label(int index) { return labels[index]; }
    @Override public int numClasses() { return classes.size(); }
    @Override public RgbImage load(int index) throws IOException { return open(index).decode(1); }
    @Override public EncodedImage open(int index) throws IOException { return ImageDecoder.open(files.get(index), !jpegsWithImageIo); }
    @Override public String describe(int index) { return files.get(index).toString(); }
    @Override public String identify(int index) { return root.toAbsolutePath().relativize(files.get(index).toAbsolutePath()).toString(); }
}
