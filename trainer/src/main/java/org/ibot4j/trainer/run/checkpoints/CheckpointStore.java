package org.ibot4j.trainer.run.checkpoints;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.ibot4j.api.Ibot4jException;
import org.ibot4j.api.IbotModel;
import org.ibot4j.api.io.AtomicFiles;
import org.ibot4j.api.io.CheckpointFiles;
import org.ibot4j.api.io.SpecialFiles;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Checkpoints {@code ckpt-<iteration>.ibot4j} in one folder, written atomically (temporary file,
 * fsync, rename, fsync of the folder) so a crash at any point leaves the previous one loadable; the
 * last {@code keepLast} are kept.
 */
public final class CheckpointStore {
    private static final Logger LOG = LoggerFactory.getLogger(CheckpointStore.class);
    private static final Pattern NAME = CheckpointFiles.NAME;
    private final Path dir;
    private final int keepLast;
    /**
     * Checkpoints found intact, with the modification time they had then: retention runs after every
     * save, and re-reading every kept checkpoint each time would cost their whole size in I/O.
     */
    private final Map<Path, FileTime> intact = new HashMap<>();

    public CheckpointStore(Path dir, int keepLast) throws IOException {
        if (keepLast < 1) throw new IllegalArgumentException("keep at least one checkpoint, got " + keepLast);
        this.dir = Files.createDirectories(dir);
        this.keepLast = keepLast;
    }

    /** A store that only reads an existing folder. */
    private CheckpointStore(Path dir) {
        this.dir = dir;
        this.keepLast = Integer.MAX_VALUE;
    }

    /** Saves a checkpoint of {@code iteration}, as a {@link CheckpointWriteEvent} when a flight recording wants one, and prunes old ones. */
    public Path save(IbotModel model, long iteration, String metadata) throws IOException {
        Path target = dir.resolve(String.format("ckpt-%08d.ibot4j", iteration));
        CheckpointWriteEvent event = new CheckpointWriteEvent();
        event.begin();
        saveAtomically(model, target, metadata);
        event.end();
        if (event.shouldCommit()) {
            event.path = target.toString();
            event.bytes = Files.size(target);
            event.step = iteration;
            event.commit();
        }
        intact.put(target, Files.getLastModifiedTime(target));  // written whole by this process just now
        prune();
        return target;
    }

    /**
     * Writes {@code model} to {@code target} through {@code target.tmp}, fsync, rename and fsync of the
     * folder: a reader (or a restart after a crash) sees the old file or the whole new one, never part.
     */
    public static void saveAtomically(IbotModel model, Path target, String metadata) throws IOException {
        AtomicFiles.writeToPath(target, temporary -> model.save(temporary, metadata));
    }

    /** The newest intact checkpoint (every byte matches its CRC-32, metadata reads back); damaged ones are skipped with a warning. */
    public Optional<Path> latest() throws IOException {
        return CheckpointFiles.newestReadable(checkpoints(), (p, why) -> LOG.warn("skipping unreadable checkpoint {}: {}", p, why));
    }

    /**
     * What a user may pass wherever a checkpoint is expected: a checkpoint file, or a run folder (the
     * {@code --output} of pretrain, or its {@code checkpoints/}), which stands for its newest readable
     * checkpoint; the choice is logged. Anything else is refused in ibot4j's words.
     */
    public static Path resolve(Path given) throws IOException {
        if (Files.isDirectory(given)) {
            Path folder = Files.isDirectory(given.resolve("checkpoints")) ? given.resolve("checkpoints") : given;
            List<Path> found = new CheckpointStore(folder).checkpoints();
            Optional<Path> newest = new CheckpointStore(folder).latest();
            if (newest.isEmpty()) {
                throw new IllegalArgumentException(given + " is a folder without a readable checkpoint (looked for ckpt-<iteration>.ibot4j in "
                        + folder + (found.isEmpty() ? "" : "; " + found.size() + " found, none readable") + ")");
            }
            LOG.info("{} is a run folder: using its newest readable checkpoint {}", given, newest.get().getFileName());
            return newest.get();
        }
        if (!Files.exists(given)) throw new IllegalArgumentException(given + " does not exist (expected a checkpoint file or a run folder)");
        if (!Files.isRegularFile(given)) {
            throw new IllegalArgumentException(given + " is " + SpecialFiles.kind(given) + ", not a checkpoint file or a run folder");
        }
        if (!looksLikeArchive(given)) {
            throw new IllegalArgumentException(given + " is not an ibot4j checkpoint (expected a ckpt-*.ibot4j file written by 'ibot4j "
                    + "pretrain' or 'ibot4j import', or a run folder; official .pth files go through 'ibot4j import' first)");
        }
        return given;
    }

    /** LibTorch archives are zip files: anything else is refused before the native reader sees it. */
    private static boolean looksLikeArchive(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            byte[] head = in.readNBytes(4);
            return head.length == 4 && head[0] == 'P' && head[1] == 'K' && head[2] == 3 && head[3] == 4;
        }
    }

    public static long iterationOf(Path checkpoint) {
        Matcher m = NAME.matcher(checkpoint.getFileName().toString());
        if (!m.matches()) throw new IllegalArgumentException(checkpoint + " is not named ckpt-<iteration>.ibot4j");
        return Long.parseLong(m.group(1));
    }

    /**
     * Completed checkpoints, oldest first (temporary files of an interrupted write are not among them).
     * Only regular files (or links to one) count: a FIFO would block the reader, a link loop fails every
     * access; such a name is warned about once and otherwise left alone.
     */
    public List<Path> checkpoints() throws IOException {
        return CheckpointFiles.named(dir).stream().filter(this::regular).toList();
    }

    private final Set<Path> warnedSpecial = new HashSet<>();

    private boolean regular(Path p) {
        if (Files.isRegularFile(p)) return true;
        if (warnedSpecial.add(p)) LOG.warn("skipping {}: it is {}, not a checkpoint file", p, SpecialFiles.kind(p));
        return false;
    }

    /**
     * Keeps the newest {@code keepLast} readable checkpoints. Only readable ones count and only they are
     * deleted: a damaged or foreign file with a checkpoint's name is left alone (and warned about by
     * {@link #latest()}), so it can never push the run's own checkpoints out.
     */
    private void prune() throws IOException {
        List<Path> readable = new ArrayList<>();
        for (Path p : checkpoints()) if (knownIntact(p)) readable.add(p);
        for (int i = 0; i < readable.size() - keepLast; i++) {
            Files.deleteIfExists(readable.get(i));
            intact.remove(readable.get(i));
        }
    }

    /** Iterations of the checkpoints retention keeps (those this store knows intact), oldest first. */
    public List<Long> kept() throws IOException {
        List<Long> out = new ArrayList<>();
        for (Path p : checkpoints()) if (intact.containsKey(p)) out.add(iterationOf(p));
        return out;
    }

    private boolean knownIntact(Path checkpoint) throws IOException {
        FileTime modified = Files.getLastModifiedTime(checkpoint);
        if (modified.equals(intact.get(checkpoint))) return true;
        if (!readable(checkpoint)) return false;
        intact.put(checkpoint, modified);
        return true;
    }

    private static boolean readable(Path checkpoint) {
        try {
            IbotModel.verifyIntegrity(checkpoint);
            IbotModel.readMetadata(checkpoint);
            return true;
        } catch (Ibot4jException e) {
            return false;
        }
    }
}
