package org.ibot4j.trainer.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * Image files on disk: an ImageFolder tree ({@code root/<class>/<image>}, classes in sorted order as
 * torchvision's ImageFolder), a flat folder of unlabelled images, or a list file of paths (one per
 * line, relative to the list's folder).
 */
public final class FileImageSource implements ImageSource {
    private static final List<String> EXTENSIONS = List.of(".jpg", ".jpeg", ".png", ".bmp", ".gif");
    private final List<Path> files;
    private final int[] labels;
    private final List<String> classes;
    private final boolean jpegsWithImageIo;

    private FileImageSource(List<Path> files, int[] labels, List<String> classes) {
        this(files, labels, classes, false);
    }

    private FileImageSource(List<Path> files, int[] labels, List<String> classes, boolean jpegsWithImageIo) {
        this.files = files;
        this.labels = labels;
        this.classes = classes;
        this.jpegsWithImageIo = jpegsWithImageIo;
    }

    /** The same files, with JPEGs decoded by ImageIO even where libjpeg-turbo is installed (for comparisons). */
    public FileImageSource withJpegsDecodedByImageIo() {
        return new FileImageSource(files, labels, classes, true);
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
        return new FileImageSource(files, labels.stream().mapToInt(Integer::intValue).toArray(), classes);
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
        java.util.Arrays.fill(labels, -1);
        return new FileImageSource(files, labels, List.of());
    }

    /** One image file. */
    public static FileImageSource single(Path image) throws IOException {
        if (!Files.isRegularFile(image)) throw new IOException(image + " is not a file");
        if (!isImageFile(image)) throw new IOException(image + " is not an image (" + String.join(", ", EXTENSIONS) + ")");
        return new FileImageSource(List.of(image), new int[] {-1}, List.of());
    }

    /** Whether the name ends in an image extension this source reads. */
    public static boolean isImageFile(Path file) {
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        return EXTENSIONS.stream().anyMatch(name::endsWith);
    }

    private static List<Path> images(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(Files::isRegularFile)
                    .filter(FileImageSource::isImageFile)
                    .sorted().toList();
        }
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
}
