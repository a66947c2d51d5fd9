package org.ibot4j.api;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.OptionalLong;

/**
 * The limits the operating system puts on this process (CPUs, threads, memory, open files), read where
 * Linux keeps them (cgroup v2, {@code /proc/self/limits}), so that a request the process cannot meet
 * is refused with a sentence naming the limit instead of ending in a crash, an abort or the OOM killer.
 */
public final class ProcessLimits {
    /** Environment variable (or system property {@code ibot4j.maxThreads}) that raises the thread bound. */
    public static final String MAX_THREADS_ENV = "IBOT4J_MAX_THREADS";

    private static final Path CGROUP_ROOT = Path.of("/sys/fs/cgroup");

    private ProcessLimits() {}

    /**
     * The most intra-op threads a caller may ask for: the CPUs this process may use, unless
     * {@value #MAX_THREADS_ENV} (or {@code -Dibot4j.maxThreads}) allows more. More threads than CPUs
     * only add OpenMP barrier time, and tens of thousands exhaust the machine's PIDs.
     */
    public static int maxThreads() {
        String raw = System.getProperty("ibot4j.maxThreads", System.getenv(MAX_THREADS_ENV));
        if (raw != null && !raw.isBlank()) {
            try {
                int value = Integer.parseInt(raw.strip());
                if (value > 0) return value;
            } catch (NumberFormatException ignored) {
                // falls through to the CPUs; the message below names the variable
            }
        }
        return CpuTopology.logicalCpus();
    }

    /**
     * Refuses a thread count above {@link #maxThreads()}.
     *
     * @param option how the caller spells the setting in messages (e.g. {@code --threads})
     * @throws IllegalArgumentException naming the bound and how to raise it
     */
    public static void checkThreads(int threads, String option) {
        int max = maxThreads();
        if (threads > max) {
            throw new IllegalArgumentException(option + " " + threads + " is more than the " + max + " CPUs this process may use; more threads "
                    + "than CPUs only slow LibTorch down (use 0 for one per physical core, or set " + MAX_THREADS_ENV + "=" + threads
                    + " to allow it)");
        }
    }

    /** One sentence on what bounds the threads this process may start (cgroup pids.max, ulimit -u, threads-max). */
    public static String threadLimits() {
        StringBuilder out = new StringBuilder();
        Path pids = cgroupFolder("pids");
        if (pids != null) {
            String max = firstLine(pids.resolve("pids.max"));
            if (max != null) {
                out.append("pids.max ").append(max).append(" with ").append(firstLine(pids.resolve("pids.current"))).append(" in use in cgroup ")
                        .append(pids).append(", ");
            }
        }
        String nproc = limit("Max processes");
        if (nproc != null) out.append("ulimit -u ").append(nproc).append(", ");
        out.append("kernel threads-max ").append(firstLine(Path.of("/proc/sys/kernel/threads-max")));
        return out.toString();
    }

    /**
     * The sentence for a thread the JVM could not start ({@code OutOfMemoryError: unable to create
     * native thread}): the limits in force and what to lower.
     */
    public static String threadStartFailure(Throwable error) {
        return "could not start a thread (" + error.getMessage() + "); limits: " + threadLimits()
                + ". Ask for fewer threads and loader workers (--threads, --workers), or raise the limit";
    }

    /**
     * The memory this process may use under its cgroup limits (cgroup v2 {@code memory.max}, or v1
     * {@code memory.limit_in_bytes}, of its cgroup and every cgroup above it: the smallest), empty when
     * none is set.
     */
    public static OptionalLong memoryLimitBytes() {
        Path folder = cgroupFolder("memory");
        boolean v2 = folder != null && Files.exists(folder.resolve("memory.max"));
        long smallest = Long.MAX_VALUE;
        for (Path p = folder; p != null && p.getNameCount() > 0 && p.startsWith(CGROUP_ROOT); p = p.getParent()) {
            String max = firstLine(p.resolve(v2 ? "memory.max" : "memory.limit_in_bytes"));
            if (max == null || max.equals("max")) continue;
            try {
                smallest = Math.min(smallest, Long.parseLong(max));
            } catch (NumberFormatException ignored) {
                // not a number: no limit read from this level
            }
        }
        // cgroup v1 writes "no limit" as a page-rounded Long.MAX_VALUE.
        return smallest >= Long.MAX_VALUE / 2 ? OptionalLong.empty() : OptionalLong.of(smallest);
    }

    /** The soft limit on open files ({@code ulimit -n}), empty when unlimited or unreadable. */
    public static OptionalLong openFilesLimit() {
        String soft = limit("Max open files");
        if (soft == null || soft.equals("unlimited")) return OptionalLong.empty();
        try {
            return OptionalLong.of(Long.parseLong(soft));
        } catch (NumberFormatException e) {
            return OptionalLong.empty();
        }
    }

    /** The files this process has open now, or -1 when {@code /proc/self/fd} cannot be listed. */
    public static long openFiles() {
        try (var fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.count();
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /**
     * Refuses to start work that needs {@code needed} more open files than {@code ulimit -n} leaves.
     *
     * @param what the work, for the message (e.g. "pretraining with 4 loader workers")
     */
    public static void checkOpenFiles(long needed, String what) {
        OptionalLong limit = openFilesLimit();
        long open = openFiles();
        if (limit.isEmpty() || open < 0) return;
        if (open + needed > limit.getAsLong()) {
            throw new IllegalStateException(what + " needs about " + needed + " more open files, but ulimit -n is " + limit.getAsLong() + " and "
                    + open + " are open already; raise it (ulimit -n 4096) before starting");
        }
    }

    /** Formats bytes as GiB with one decimal. */
    public static String gib(long bytes) {
        return String.format(Locale.ROOT, "%.1f GiB", bytes / (double) (1L << 30));
    }

    /**
     * This process's cgroup folder for {@code controller}: the cgroup v1 hierarchy that has it
     * ({@code /sys/fs/cgroup/<controller>/<path>}), else the v2 one ({@code /sys/fs/cgroup/<path>} or,
     * on a hybrid system, {@code /sys/fs/cgroup/unified/<path>}); null where neither can be read.
     */
    static Path cgroupFolder(String controller) {
        try {
            Path v2 = null;
            for (String line : Files.readAllLines(Path.of("/proc/self/cgroup"))) {
                String[] parts = line.split(":", 3);
                if (parts.length < 3) continue;
                String relative = parts[2].replaceFirst("^/+", "");
                if (parts[0].equals("0") && parts[1].isEmpty()) {
                    Path root = Files.exists(CGROUP_ROOT.resolve("cgroup.controllers")) ? CGROUP_ROOT : CGROUP_ROOT.resolve("unified");
                    v2 = relative.isEmpty() ? root : root.resolve(relative);
                } else if (List.of(parts[1].split(",")).contains(controller)) {
                    Path root = CGROUP_ROOT.resolve(parts[1]);
                    return relative.isEmpty() ? root : root.resolve(relative);
                }
            }
            return v2;
        } catch (IOException | RuntimeException unreadable) {
            return null;  // not Linux: no cgroup limits to report
        }
    }

    /** The soft value of one row of /proc/self/limits. */
    private static String limit(String row) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/limits"))) {
                if (line.startsWith(row)) {
                    String[] cols = line.substring(row.length()).trim().split("\\s+");
                    return cols.length > 0 ? cols[0] : null;
                }
            }
        } catch (IOException | RuntimeException unreadable) {
            // not Linux
        }
        return null;
    }

    private static String firstLine(Path file) {
        try {
            List<String> lines = Files.readAllLines(file);
            return lines.isEmpty() ? null : lines.get(0).strip();
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }
}
