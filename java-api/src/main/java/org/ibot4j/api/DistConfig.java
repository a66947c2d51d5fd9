package org.ibot4j.api;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.ibot4j.bindings.Ibot4jC;

/**
 * One process of a data-parallel group, as torchrun describes it. A JVM platform that starts its
 * own workers (Kubernetes, Spark barrier tasks, Ray) builds one directly; {@link #fromEnvironment}
 * reads torchrun's variables.
 *
 * @param rank this process, 0 to worldSize - 1 (rank 0 hosts the rendezvous)
 * @param worldSize number of processes in the group
 * @param localRank this process's index on its machine (its GPU on CUDA)
 * @param masterAddr host of rank 0's rendezvous store
 * @param masterPort port of rank 0's rendezvous store
 * @param backend the collective library
 * @param timeoutSeconds how long a collective or the rendezvous may wait for a rank
 */
public record DistConfig(int rank, int worldSize, int localRank, String masterAddr, int masterPort, Backend backend,
        double timeoutSeconds) {

    /** The collective library: Gloo on CPU, NCCL on CUDA. */
    public enum Backend {
        /** Gloo, for CPU tensors. */
        GLOO(Ibot4jC.IBOT4J_BACKEND_GLOO()),
        /** NCCL, for CUDA tensors. */
        NCCL(Ibot4jC.IBOT4J_BACKEND_NCCL());

        final int code;

        Backend(int code) {
            this.code = code;
        }

        /**
         * Parses a backend name.
         *
         * @param name gloo or nccl, any case
         * @return the backend
         * @throws IllegalArgumentException for another name
         */
        public static Backend of(String name) {
            for (Backend b : values()) if (b.name().equalsIgnoreCase(name)) return b;
            throw new IllegalArgumentException("unknown distributed backend '" + name + "' (gloo or nccl)");
        }

        /**
         * The default for a device: NCCL on CUDA, Gloo on CPU.
         *
         * @param device where the model lives
         * @return the backend
         */
        public static Backend defaultFor(Device device) {
            return device == Device.CUDA ? NCCL : GLOO;
        }
    }

    /** Checks every field; one sentence per problem. */
    public DistConfig {
        List<String> problems = new ArrayList<>();
        if (worldSize < 1) problems.add("WORLD_SIZE must be >= 1, got " + worldSize);
        if (rank < 0 || (worldSize >= 1 && rank >= worldSize)) {
            problems.add("RANK " + rank + " is out of range: ranks of a world of " + worldSize + " are 0 to " + (worldSize - 1));
        }
        if (localRank < 0) problems.add("LOCAL_RANK must be >= 0, got " + localRank);
        if (masterAddr == null || masterAddr.isBlank()) problems.add("MASTER_ADDR is empty: the host of rank 0");
        if (masterPort < 1 || masterPort > 65535) problems.add("MASTER_PORT must be in 1..65535, got " + masterPort);
        if (backend == null) problems.add("the backend must be set");
        if (!(timeoutSeconds > 0)) problems.add("the timeout must be > 0 seconds, got " + timeoutSeconds);
        if (!problems.isEmpty()) throw new InvalidConfigException("distributed setup", problems);
    }

    /**
     * torchrun's environment contract: RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT.
     *
     * @param env the environment (System.getenv())
     * @param backend the collective library
     * @param timeoutSeconds collective timeout
     * @return the group this process belongs to, or null when WORLD_SIZE and RANK are both unset
     * @throws InvalidConfigException naming each missing or malformed variable
     */
    public static DistConfig fromEnvironment(Map<String, String> env, Backend backend, double timeoutSeconds) {
        if (!env.containsKey("WORLD_SIZE") && !env.containsKey("RANK")) return null;
        List<String> problems = new ArrayList<>();
        int world = integer(env, "WORLD_SIZE", null, problems);
        int rank = integer(env, "RANK", null, problems);
        int local = integer(env, "LOCAL_RANK", String.valueOf(Math.max(rank, 0)), problems);
        int port = integer(env, "MASTER_PORT", null, problems);
        String addr = env.getOrDefault("MASTER_ADDR", "");
        if (addr.isBlank()) problems.add("MASTER_ADDR is not set (torchrun sets it; the host of rank 0)");
        if (!problems.isEmpty()) throw new InvalidConfigException("distributed environment", problems);
        return new DistConfig(rank, world, local, addr, port, backend, timeoutSeconds);
    }

    private static int integer(Map<String, String> env, String name, String fallback, List<String> problems) {
        String text = env.getOrDefault(name, fallback);
        if (text == null) {
            problems.add(name + " is not set (torchrun's contract needs RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT together)");
            return -1;
        }
        try {
            return Integer.parseInt(text.trim());
        } catch (NumberFormatException e) {
            problems.add(name + "=" + text + " is not an integer");
            return -1;
        }
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "rank %d of %d (local %d) via %s:%d, %s", rank, worldSize, localRank, masterAddr, masterPort,
                backend.name().toLowerCase(Locale.ROOT));
    }
}
