package org.ibot4j.api;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The CPUs this process may use, as cores and as logical CPUs, for the default number of intra-op
 * threads. The default is the physical cores, as PyTorch's: a hyperthread shares its core's vector
 * units, so a second thread per core adds no matrix-product throughput, and every extra thread in
 * an OpenMP team lengthens each barrier (LibTorch runs hundreds of parallel regions per step).
 */
public final class CpuTopology {
    private static final Path SYSFS = Path.of("/sys/devices/system/cpu");

    private CpuTopology() {}

    /**
     * Logical CPUs this JVM may use (its affinity mask and container quota, as the JVM sees them).
     *
     * @return at least 1
     */
    public static int logicalCpus() {
        return Runtime.getRuntime().availableProcessors();
    }

    /**
     * Physical cores among the CPUs this process may run on, never more than {@link #logicalCpus()};
     * where the topology cannot be read (not Linux, no sysfs), the logical CPUs.
     *
     * @return at least 1
     */
    public static int physicalCores() {
        return physicalCores(SYSFS, Path.of("/proc/self/status"));
    }

    static int physicalCores(Path sysfs, Path status) {
        int logical = logicalCpus();
        try {
            Set<String> cores = new HashSet<>();
            for (int cpu : allowedCpus(status)) {
                Path topology = sysfs.resolve("cpu" + cpu).resolve("topology");
                String pkg = Files.readString(topology.resolve("physical_package_id")).strip();
                String core = Files.readString(topology.resolve("core_id")).strip();
                cores.add(pkg + "/" + core);
            }
            return cores.isEmpty() ? logical : Math.max(1, Math.min(cores.size(), logical));
        } catch (IOException | RuntimeException unreadable) {
            return logical;
        }
    }

    /**
     * The default number of intra-op threads when a command is given {@code --threads 0}.
     *
     * @return the physical cores this process may use
     */
    public static int defaultThreads() {
        return physicalCores();
    }

    /** A line for {@code --help} and {@code doctor}. */
    public static String describe() {
        int cores = physicalCores(), logical = logicalCpus();
        return cores + " physical core(s), " + logical + " logical CPU(s)" + (cores == logical ? "" : " (hyperthreads not used by default)");
    }

    /** CPU numbers of the {@code Cpus_allowed_list} line (e.g. {@code 0-3,8,10-11}). */
    static List<Integer> allowedCpus(Path status) throws IOException {
        for (String line : Files.readAllLines(status)) {
            if (!line.startsWith("Cpus_allowed_list:")) continue;
            List<Integer> cpus = new ArrayList<>();
            for (String part : line.substring(line.indexOf(':') + 1).strip().split(",")) {
                if (part.isBlank()) continue;
                String[] range = part.strip().split("-");
                int from = Integer.parseInt(range[0]), to = range.length > 1 ? Integer.parseInt(range[1]) : from;
                for (int c = from; c <= to; c++) cpus.add(c);
            }
            return cpus;
        }
        throw new IOException(status + " has no Cpus_allowed_list line");
    }
}
