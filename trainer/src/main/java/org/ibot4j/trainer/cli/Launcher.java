package org.ibot4j.trainer.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.ibot4j.api.CpuTopology;
import org.ibot4j.trainer.run.PretrainOptions;

/**
 * {@code pretrain --nproc_per_node N}: torchrun's job without Python. Starts N worker JVMs on this
 * machine with torchrun's environment (RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT),
 * forwards their output line by line behind a rank prefix, and when one fails (or on Ctrl-C) ends
 * the others, so nothing is left waiting on a dead group.
 */
final class Launcher {
    /** The launcher's own flags; workers learn the same from their environment. */
    private static final Set<String> LAUNCH_FLAGS = Set.of("--nproc_per_node", "--nnodes", "--node_rank", "--master_addr", "--master_port");
    private static final long GRACE_SECONDS = 10;
    /**
     * Set in a worker's environment: its standard input is a pipe whose other end only the launcher
     * holds, so end-of-file on it means the launcher has died, however it died (kill -9 included).
     */
    static final String WATCH_STDIN = "IBOT4J_LAUNCHER_PIPE";

    private Launcher() {}

    static boolean wanted(PretrainOptions o) {
        return (o.nprocPerNode > 1 || o.nnodes > 1) && System.getenv("RANK") == null;
    }

    /** Runs the workers to the end; the exit code is 0 when all succeeded, else the first failure's. */
    static int launch(PretrainOptions o, List<String> args, PrintStream out) throws IOException, InterruptedException {
        if (o.nprocPerNode < 1 || o.nnodes < 1 || o.nodeRank < 0 || o.nodeRank >= o.nnodes) {
            throw new IllegalArgumentException("--nproc_per_node and --nnodes must be >= 1 and --node_rank in 0.." + (o.nnodes - 1)
                    + ", got " + o.nprocPerNode + ", " + o.nnodes + " and " + o.nodeRank);
        }
        int world = o.nprocPerNode * o.nnodes;
        // One machine and no port chosen: any free one, so that runs side by side do not collide.
        int port = o.nnodes == 1 && !o.isExplicit("master_port") ? freePort() : o.masterPort;
        List<String> workerArgs = withoutLaunchFlags(args);
        if (workerArgs.isEmpty() || !workerArgs.get(0).equals("pretrain")) workerArgs.add(0, "pretrain");
        if (!o.isExplicit("threads")) {
            workerArgs.add("--threads");
            workerArgs.add(String.valueOf(Math.max(1, CpuTopology.physicalCores() / o.nprocPerNode)));
        }
        List<Process> workers = new ArrayList<>();
        Thread stopOnInterrupt = new Thread(() -> workers.forEach(Process::destroy));
        Runtime.getRuntime().addShutdownHook(stopOnInterrupt);
        List<Thread> forwarders = new ArrayList<>();
        try {
            for (int local = 0; local < o.nprocPerNode; local++) {
                int rank = o.nodeRank * o.nprocPerNode + local;
                ProcessBuilder pb = new ProcessBuilder(workerCommand(workerArgs)).redirectErrorStream(true);
                Map<String, String> env = pb.environment();
                env.put("RANK", String.valueOf(rank));
                env.put("LOCAL_RANK", String.valueOf(local));
                env.put("WORLD_SIZE", String.valueOf(world));
                env.put("LOCAL_WORLD_SIZE", String.valueOf(o.nprocPerNode));
                env.put("MASTER_ADDR", o.masterAddr);
                env.put("MASTER_PORT", String.valueOf(port));
                env.put(WATCH_STDIN, String.valueOf(ProcessHandle.current().pid()));
                Process p = pb.start();  // stdin stays a pipe from this process: see WATCH_STDIN
                workers.add(p);
                forwarders.add(forward(p, "[rank " + rank + "] ", out));
            }
            out.printf("started %d worker(s) of %d (ranks %d to %d), rendezvous %s:%d%n", o.nprocPerNode, world,
                    o.nodeRank * o.nprocPerNode, (o.nodeRank + 1) * o.nprocPerNode - 1, o.masterAddr, port);
            int code = waitForAll(workers, o.nodeRank * o.nprocPerNode, out);
            for (Thread t : forwarders) t.join(TimeUnit.SECONDS.toMillis(GRACE_SECONDS));
            return code;
        } finally {
            workers.forEach(Process::destroyForcibly);
            try {
                Runtime.getRuntime().removeShutdownHook(stopOnInterrupt);
            } catch (IllegalStateException shuttingDown) {
                // the hook is running already
            }
        }
    }

    /**
     * In a worker this launcher started: a daemon thread that ends the process when the launcher is gone
     * (its end of the stdin pipe closed), so no worker trains on without a console and the run folder's
     * lock is freed. Does nothing in a process that was not started by the launcher.
     */
    static void endWithLauncher(PrintStream out) {
        String launcher = System.getenv(WATCH_STDIN);
        if (launcher == null) return;
        Thread watch = new Thread(() -> {
            try {
                while (System.in.read() >= 0) {
                    // the launcher never writes: anything read is ignored
                }
            } catch (IOException closed) {
                // the same as end-of-file
            }
            out.println("the launcher (pid " + launcher + ") has ended: stopping this worker");
            out.flush();
            System.exit(143);
        }, "ibot4j-launcher-watch");
        watch.setDaemon(true);
        watch.start();
    }

    /** Waits until every worker ended; after the first failure the others get SIGTERM, then SIGKILL. */
    private static int waitForAll(List<Process> workers, int firstRank, PrintStream out) throws InterruptedException {
        int failure = 0;
        long stopBy = Long.MAX_VALUE;
        while (workers.stream().anyMatch(Process::isAlive)) {
            for (int i = 0; i < workers.size() && failure == 0; i++) {
                Process p = workers.get(i);
                if (!p.isAlive() && p.exitValue() != 0) {
                    failure = p.exitValue();
                    out.printf("rank %d failed (%s): ending the other workers%n", firstRank + i, describe(failure));
                    workers.forEach(Process::destroy);
                    stopBy = System.nanoTime() + TimeUnit.SECONDS.toNanos(GRACE_SECONDS);
                }
            }
            if (System.nanoTime() > stopBy) workers.forEach(Process::destroyForcibly);
            Thread.sleep(100);
        }
        if (failure == 0) {
            for (Process p : workers) if (p.exitValue() != 0) failure = p.exitValue();
        }
        return failure;
    }

    private static String describe(int code) {
        return code > 128 ? "killed by signal " + (code - 128) : "exit code " + code;
    }

    private static Thread forward(Process p, String prefix, PrintStream out) {
        Thread t = new Thread(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = in.readLine()) != null; ) {
                    synchronized (out) {
                        out.println(prefix + line);
                    }
                }
            } catch (IOException ended) {
                // the worker's output closed with it
            }
        }, "ibot4j-forward-" + prefix.trim());
        t.setDaemon(true);
        t.start();
        return t;
    }

    /** The same JVM (flags, class path, system properties) running the CLI with the worker's arguments. */
    static List<String> workerCommand(List<String> args) {
        return javaCommand(Ibot4jCli.class.getName(), List.of(), args);
    }

    /**
     * A command that runs {@code mainClass} in a new JVM like this one: same java, JVM flags (debugger
     * and agents left out), ibot4j's system properties and class path, then {@code extraFlags}.
     */
    static List<String> javaCommand(String mainClass, List<String> extraFlags, List<String> args) {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        List<String> flags = ManagementFactory.getRuntimeMXBean().getInputArguments();
        for (String flag : flags) {
            if (!flag.startsWith("-agentlib:jdwp") && !flag.startsWith("-javaagent")) command.add(flag);
        }
        // ibot4j's own settings (where libibot4j is), also when they were set inside this JVM.
        for (String name : System.getProperties().stringPropertyNames()) {
            if (name.startsWith("ibot4j.") && flags.stream().noneMatch(f -> f.startsWith("-D" + name + "="))) {
                command.add("-D" + name + "=" + System.getProperty(name));
            }
        }
        command.addAll(extraFlags);
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(mainClass);
        command.addAll(args);
        return command;
    }

    static List<String> withoutLaunchFlags(List<String> args) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            String name = a.replaceFirst("=.*", "");
            if (LAUNCH_FLAGS.contains(name)) {
                if (!a.contains("=")) i++;  // its value
                continue;
            }
            out.add(a);
        }
        return out;
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
