package org.ibot4j.trainer.run.checkpoints;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;

/**
 * The one writer of a run folder: an OS lock on {@code <folder>/.ibot4j.lock}, held while the run
 * writes. The kernel drops the lock when the process ends however it ends (kill -9 included), so a
 * lock is never stale; the file itself stays, holding the last writer's pid, host and start time for
 * the message another writer gets. Readers (export, eval, embed, visualize) take no lock.
 */
public final class RunLock implements AutoCloseable {
    /** The lock file's name inside the run folder. */
    public static final String FILE = ".ibot4j.lock";
    private final FileChannel channel;
    private final FileLock lock;

    private RunLock(FileChannel channel, FileLock lock) {
        this.channel = channel;
        this.lock = lock;
    }

    /**
     * Takes the folder for this process or says who holds it.
     *
     * @param folder an existing run folder
     * @return the held lock; closing it releases the folder
     * @throws IllegalStateException naming the folder and the holder when another run writes it
     * @throws IOException when the lock file cannot be opened
     */
    public static RunLock acquire(Path folder) throws IOException {
        Path file = folder.resolve(FILE);
        if (Files.exists(file, LinkOption.NOFOLLOW_LINKS) && !Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
            throw new IllegalArgumentException(file + " is not a regular file: ibot4j keeps its run lock there; remove it");
        }
        FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE,
                LinkOption.NOFOLLOW_LINKS);
        try {
            FileLock lock;
            try {
                lock = channel.tryLock();
            } catch (OverlappingFileLockException sameProcess) {
                lock = null;  // another run in this JVM holds it
            }
            if (lock == null) {
                throw new IllegalStateException(folder + " is being written by another run (" + holder(channel) + "); one run folder has "
                        + "one writer: wait for it to end, stop it, or choose another --output");
            }
            byte[] me = (ProcessHandle.current().pid() + " " + hostName() + " " + Instant.now() + "\n").getBytes(StandardCharsets.UTF_8);
            channel.truncate(0);
            channel.write(ByteBuffer.wrap(me), 0);
            channel.force(false);
            return new RunLock(channel, lock);
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    /** "pid 123 on host h since t", from the lock file the holder wrote. */
    private static String holder(FileChannel channel) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(512);
        channel.read(buf, 0);
        String[] parts = new String(buf.array(), 0, buf.position(), StandardCharsets.UTF_8).strip().split(" ");
        if (parts.length < 3) return "a process that has not yet written its name";
        return "pid " + parts[0] + " on host " + parts[1] + ", since " + parts[2];
    }

    /** The kernel's host name first: InetAddress may wait on a DNS lookup. */
    private static String hostName() {
        try {
            String kernel = Files.readString(Path.of("/proc/sys/kernel/hostname")).strip();
            if (!kernel.isEmpty()) return kernel;
        } catch (IOException | RuntimeException notLinux) {
            // fall through
        }
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (IOException | SecurityException e) {
            String env = System.getenv("HOSTNAME");
            return env == null || env.isBlank() ? "unknown-host" : env;
        }
    }

    @Override
    public void close() throws IOException {
        try {
            lock.release();
        } finally {
            channel.close();
        }
    }
}
