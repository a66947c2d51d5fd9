package org.ibot4j.api.io;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.function.BiConsumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;
import org.ibot4j.api.Ibot4jException;
import org.ibot4j.api.IbotModel;

/** What kind of weights file a path is, and a run folder's newest readable checkpoint, for readers outside the trainer. */
public final class CheckpointFiles {
    /** A checkpoint's file name; at most 18 digits, so every name that matches parses as a long. */
    public static final Pattern NAME = Pattern.compile("ckpt-(\\d{1,18})\\.ibot4j");

    private CheckpointFiles() {}

    /**
     * Whether {@code file} is a LibTorch archive (an ibot4j checkpoint, TorchScript layout with
     * {@code constants.pkl}); official checkpoints are {@code torch.save} zips, which never hold that entry.
     */
    public static boolean isLibTorchArchive(Path file) throws IOException {
        if (!Files.isRegularFile(file)) return false;
        if (!ZipIntegrity.startsLikeZip(file)) return false;
        try (ZipFile zip = new ZipFile(file.toFile())) {
            return zip.stream().anyMatch(e -> e.getName().endsWith("/constants.pkl"));
        } catch (ZipException e) {
            throw new IOException(file + " starts like a zip file (a checkpoint or .pth) but is damaged or cut short (" + e.getMessage() + ")", e);
        }
    }

    /**
     * The newest intact {@code ckpt-<iteration>.ibot4j} of a run folder (its {@code checkpoints/}, or
     * the folder itself); every checkpoint is checked against its CRC-32s before it is chosen.
     */
    public static Optional<Path> newestReadable(Path runFolder) throws IOException {
        Path folder = Files.isDirectory(runFolder.resolve("checkpoints")) ? runFolder.resolve("checkpoints") : runFolder;
        return newestReadable(named(folder), (damaged, why) -> { });
    }

    /**
     * Files of {@code folder} named like checkpoints, oldest first (whatever they are: callers decide
     * what to do with special files).
     */
    public static List<Path> named(Path folder) throws IOException {
        try (Stream<Path> files = Files.list(folder)) {
            return files.filter(p -> NAME.matcher(p.getFileName().toString()).matches())
                    .sorted(Comparator.comparingLong(CheckpointFiles::iteration)).toList();
        }
    }

    /**
     * The newest of {@code oldestFirst} whose every byte matches its CRC-32s and whose metadata reads;
     * each one passed over (damaged, foreign, not a regular file) goes to {@code skipped} with the reason.
     */
    public static Optional<Path> newestReadable(List<Path> oldestFirst, BiConsumer<Path, String> skipped) {
        for (Path p : oldestFirst.reversed()) {
            try {
                IbotModel.verifyIntegrity(p);
                IbotModel.readMetadata(p);
                return Optional.of(p);
            } catch (Ibot4jException damaged) {
                skipped.accept(p, damaged.getMessage());
            }
        }
        return Optional.empty();
    }

    private static long iteration(Path checkpoint) {
        Matcher m = NAME.matcher(checkpoint.getFileName().toString());
        return m.matches() ? Long.parseLong(m.group(1)) : -1;
    }
}
