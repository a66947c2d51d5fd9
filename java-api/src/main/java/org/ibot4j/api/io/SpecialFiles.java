package org.ibot4j.api.io;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Names what a path is when it is not a regular file, for ibot4j's rule that only regular files are
 * read as checkpoints, weights or configs, or written over: opening a FIFO blocks forever, a symbolic
 * link loop fails on every access, and renaming over a device node replaces the node.
 */
public final class SpecialFiles {
    private SpecialFiles() {}

    /**
     * What {@code path} is, as a phrase: "a regular file", "a folder", "a FIFO (named pipe)", "a
     * character device", "a block device", "a socket", "a symbolic link loop or dangling link", "missing".
     * Symbolic links are followed.
     *
     * @param path any path
     * @return the phrase
     */
    public static String kind(Path path) {
        if (Files.isRegularFile(path)) return "a regular file";
        if (Files.isDirectory(path)) return "a folder";
        if (!Files.exists(path)) {
            return Files.isSymbolicLink(path) ? "a symbolic link loop or dangling link" : "missing";
        }
        try {
            int type = ((Integer) Files.getAttribute(path, "unix:mode")) & 0170000;
            return switch (type) {
                case 0010000 -> "a FIFO (named pipe)";
                case 0020000 -> "a character device";
                case 0060000 -> "a block device";
                case 0140000 -> "a socket";
                default -> "a special file";
            };
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return "a special file";
        }
    }

    /**
     * Refuses anything but an existing regular file (a link to one is fine).
     *
     * @param path the file to read
     * @param role what it was given as, for the message (e.g. "checkpoint", "--config")
     * @throws IOException naming the path and what it is
     */
    public static void requireReadable(Path path, String role) throws IOException {
        if (Files.isRegularFile(path)) return;
        String kind = kind(path);
        if (kind.equals("missing")) throw new NoSuchFileException(path.toString(), null, role + " " + path + " does not exist");
        throw new IOException(role + " " + path + " is " + kind + ", not a regular file: ibot4j reads only regular files there");
    }

    /**
     * Refuses to write over anything but a regular file (or nothing); a symbolic link is refused too,
     * since renaming over it would replace the link rather than write where it points.
     *
     * @param target the file about to be created or replaced
     * @throws IOException naming the path and what it is
     */
    public static void requireWritable(Path target) throws IOException {
        if (!Files.exists(target, LinkOption.NOFOLLOW_LINKS) || Files.isRegularFile(target, LinkOption.NOFOLLOW_LINKS)) return;
        String kind = Files.isSymbolicLink(target) ? "a symbolic link (to " + kind(target).replaceFirst("^a ", "") + ")" : kind(target);
        throw new IOException(target + " is " + kind + ": ibot4j replaces only regular files; choose another path");
    }
}
