package org.ibot4j.api.io;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Writes files so that a reader, or a crash, sees either the old file or the complete new one, never a
 * part. The content goes to a temporary file in the target's folder (named {@code .<name>.<pid>-<random>.tmp}),
 * which is synced, renamed over the target in one step and followed by a sync of the folder, so the
 * rename itself survives a power cut. If the writer fails, the temporary file is deleted and the target
 * is left as it was.
 *
 * <p>Relative targets resolve against the working directory; missing parent folders are created.
 */
public final class AtomicFiles {
    /** Writes a file's content to a stream; the stream may be closed by the writer or left open. */
    @FunctionalInterface
    public interface StreamWriter {
        /**
         * Writes the whole content.
         *
         * @param out the temporary file's stream, buffered
         * @throws IOException to abandon the write; the target is then untouched
         */
        void write(OutputStream out) throws IOException;
    }

    /** Writes a file by its path, for code (such as native code) that opens files itself. */
    @FunctionalInterface
    public interface PathWriter {
        /**
         * Writes the whole content to {@code temp}, which exists and is empty; it may be truncated or replaced.
         *
         * @param temp the temporary file, in the target's folder
         * @throws IOException to abandon the write; the target is then untouched
         */
        void write(Path temp) throws IOException;
    }

    private static final String SUFFIX = ".tmp";
    // Keeps the temporary name within the usual 255-byte file name limit for long targets.
    private static final int MAX_NAME_CHARS = 120;

    private AtomicFiles() {}

    /**
     * Replaces {@code target} with what {@code writer} writes to a stream.
     *
     * @param target the file to create or replace
     * @param writer writes the content
     * @throws IOException if writing, syncing or renaming fails; the target is then untouched
     */
    public static void write(Path target, StreamWriter writer) throws IOException {
        writeToPath(target, temp -> {
            try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(temp, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING))) {
                writer.write(out);
            }
        });
    }

    /**
     * Replaces {@code target} with the file {@code writer} writes at a temporary path.
     *
     * @param target the file to create or replace
     * @param writer writes the content to the path it is given
     * @throws IOException if writing, syncing or renaming fails; the target is then untouched
     */
    public static void writeToPath(Path target, PathWriter writer) throws IOException {
        Path absolute = target.toAbsolutePath();
        Path folder = absolute.getParent();
        if (folder == null || absolute.getFileName() == null) {
            throw new IllegalArgumentException(target + " names no file");
        }
        SpecialFiles.requireWritable(absolute);
        Path temp;
        try {
            Files.createDirectories(folder);
            temp = createTemp(folder, absolute.getFileName().toString());
        } catch (IOException e) {
            checkTarget(target, 0);  // names the cause (a file where a folder should be, a read-only folder) ...
            throw new IOException("cannot write " + target + ": " + e, e);  // ... or at least the user's path
        }
        try {
            writer.write(temp);
            try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.WRITE)) {
                channel.force(true);
            }
            Files.move(temp, absolute, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (Throwable failure) {
            try {
                Files.deleteIfExists(temp);
            } catch (IOException cleanup) {
                failure.addSuppressed(cleanup);
            }
            if (failure instanceof IOException io) throw aboutTarget(io, temp, absolute);
            throw failure;
        }
        syncFolder(folder);
    }

    /**
     * Checks, before any work, that {@code target} can be written here with {@code bytes} to spare: it is
     * no folder or device, the folders above it exist or can be made (no file stands in their place), the
     * nearest existing one accepts a new file, and its file system has the room. Every refusal names
     * {@code target} as the user gave it.
     *
     * @param target the file a command will write
     * @param bytes  its expected size (0 when unknown)
     * @throws IOException saying why it cannot be written
     */
    public static void checkTarget(Path target, long bytes) throws IOException {
        Path absolute = target.toAbsolutePath();
        if (absolute.getParent() == null || absolute.getFileName() == null) throw new IOException(target + " names no file");
        if (Files.isDirectory(absolute)) throw new IOException(target + " is a folder; give a file name inside it");
        SpecialFiles.requireWritable(absolute);
        Path existing = absolute.getParent();
        while (existing != null && !Files.exists(existing)) existing = existing.getParent();
        if (existing == null) throw new IOException("cannot write " + target + ": none of the folders above it exists");
        if (!Files.isDirectory(existing)) {
            throw new IOException("cannot write " + target + ": " + existing + " is " + SpecialFiles.kind(existing) + ", not a folder");
        }
        try {
            Files.delete(createTemp(existing, absolute.getFileName().toString()));
        } catch (IOException e) {
            String reason = e instanceof java.nio.file.FileSystemException fs && fs.getReason() != null ? fs.getReason()
                    : e.getClass().getSimpleName();
            throw new IOException("cannot write " + target + ": folder " + existing + " does not accept new files (" + reason + ")", e);
        }
        long free = Files.getFileStore(existing).getUsableSpace();
        if (bytes > 0 && free < bytes) {
            throw new IOException("cannot write " + target + ": it needs about " + human(bytes) + " but " + existing + " has " + human(free) + " free");
        }
    }

    private static String human(long bytes) {
        return bytes >= 1L << 30 ? String.format(java.util.Locale.ROOT, "%.1f GiB", bytes / (double) (1L << 30))
                : String.format(java.util.Locale.ROOT, "%.1f MiB", bytes / (double) (1L << 20));
    }

    /**
     * Replaces {@code target} with {@code text} in UTF-8.
     *
     * @param target the file to create or replace
     * @param text the whole content
     * @throws IOException if writing, syncing or renaming fails; the target is then untouched
     */
    public static void writeString(Path target, String text) throws IOException {
        writeBytes(target, text.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Replaces {@code target} with {@code bytes}.
     *
     * @param target the file to create or replace
     * @param bytes the whole content
     * @throws IOException if writing, syncing or renaming fails; the target is then untouched
     */
    public static void writeBytes(Path target, byte[] bytes) throws IOException {
        write(target, out -> out.write(bytes));
    }

    /**
     * Whether {@code file} is named like one of this class's temporary files, e.g. one left by a crash.
     *
     * @param file a path whose file name is checked
     * @return true for names of the form {@code .<name>.<pid>-<random>.tmp}
     */
    public static boolean isTemporary(Path file) {
        Path name = file.getFileName();
        return name != null && name.toString().matches("\\..+\\.\\d+-[0-9a-f]+\\.tmp");
    }

    /**
     * Deletes the temporary files in {@code folder} whose writing process has ended: what a kill in
     * the middle of a write leaves. Files of a live writer are left alone.
     *
     * @param folder a folder that atomic writes target (not searched recursively)
     * @return how many were removed
     * @throws IOException when the folder cannot be listed
     */
    public static int removeStale(Path folder) throws IOException {
        if (!Files.isDirectory(folder)) return 0;
        int removed = 0;
        try (java.util.stream.Stream<Path> files = Files.list(folder)) {
            for (Path file : files.filter(AtomicFiles::isTemporary).toList()) {
                java.util.regex.Matcher m = java.util.regex.Pattern.compile("\\.(\\d+)-[0-9a-f]+\\.tmp$").matcher(file.getFileName().toString());
                boolean writerAlive = m.find() && ProcessHandle.of(Long.parseLong(m.group(1))).map(ProcessHandle::isAlive).orElse(false)
                        && Long.parseLong(m.group(1)) != ProcessHandle.current().pid();
                if (!writerAlive && Files.deleteIfExists(file)) removed++;
            }
        }
        return removed;
    }

    /**
     * The failure as the user should read it: about {@code target}, not the temporary file they never
     * named ("No space left on device" writing report.html rather than .report.html.123-ab.tmp).
     */
    private static IOException aboutTarget(IOException io, Path temp, Path target) {
        if (io.getMessage() == null || !io.getMessage().contains(temp.getFileName().toString())) return io;
        String reason = io instanceof java.nio.file.FileSystemException fs && fs.getReason() != null ? fs.getReason()
                : io.getMessage().replace(temp.toString(), "").replace(temp.getFileName().toString(), "").replaceAll("^[:\\s]+", "");
        return new IOException("writing " + target + " failed: " + reason, io);
    }

    /** CREATE_NEW makes the name ours even if pid and random number ever coincide with another writer's. */
    private static Path createTemp(Path folder, String name) throws IOException {
        String base = name.length() > MAX_NAME_CHARS ? name.substring(0, MAX_NAME_CHARS) : name;
        long pid = ProcessHandle.current().pid();
        for (int attempt = 0; ; attempt++) {
            String random = Long.toHexString(ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE);
            Path temp = folder.resolve("." + base + "." + pid + "-" + random + SUFFIX);
            try {
                return Files.createFile(temp);
            } catch (FileAlreadyExistsException e) {
                if (attempt >= 9) throw e;
            }
        }
    }

    /** Makes the rename durable; some platforms (Windows) cannot open a folder, and then rely on the rename alone. */
    private static void syncFolder(Path folder) {
        try (FileChannel channel = FileChannel.open(folder, StandardOpenOption.READ)) {
            channel.force(true);
        } catch (IOException e) {
            // The file's content is already synced and in place; only the rename's durability is weaker.
        }
    }
}
