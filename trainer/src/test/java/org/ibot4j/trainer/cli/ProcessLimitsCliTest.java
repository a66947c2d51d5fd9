package org.ibot4j.trainer.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The command line under the limits an operator sets: a cgroup's pids.max and memory limit, ulimit -n.
 * Before, runs under pids.max 21-26 ended in rc 134 (libgomp's abort), a raw OutOfMemoryError or an idle
 * JVM that never exited. Each run here is in a cgroup the test makes (cgroup v1 or v2; root needed,
 * skipped elsewhere), so a limit never reaches the rest of the machine.
 */
class ProcessLimitsCliTest {
    private static final int SECONDS = 120;

    record Run(int code, String output) {}

    @Test
    void moreIntraOpThreadsThanThePidsLimitAllowsIsASentence(@TempDir Path dir) throws Exception {
        Path cgroup = Cgroups.make("pids", dir);
        try {
            Files.writeString(cgroup.resolve("pids.max"), "60");
            Path images = org.ibot4j.trainer.data.FashionPngs.write(dir.resolve("images"), 4);
            Path checkpoint = makeCheckpoint(dir);
            Run run = run(cgroup, dir, Map.of("IBOT4J_MAX_THREADS", "200"), "embed", "--checkpoint", checkpoint.toString(), "--images",
                    images.toString(), "--output", dir.resolve("f.npy").toString(), "--threads", "100");
            assertThat(run.code()).as(run.output()).isEqualTo(1);
            assertThat(run.output()).contains("intra-op threads asked for").contains("pids.max 60").contains("ask for fewer threads")
                    .doesNotContain("libgomp").doesNotContain("SIGSEGV");
        } finally {
            Cgroups.remove(cgroup);
        }
    }

    @Test
    void aRunAtThePidsLimitEndsWithASentenceAndNeverHangs(@TempDir Path dir) throws Exception {
        Path cgroup = Cgroups.make("pids", dir);
        int sentences = 0;
        try {
            for (int limit = 16; limit <= 28; limit += 2) {
                Files.writeString(cgroup.resolve("pids.max"), String.valueOf(limit));
                Path output = dir.resolve("run" + limit);
                List<String> args = DistributedTest.tiny(output, 8, 2);
                Run run = run(cgroup, dir, Map.of(), args.toArray(String[]::new));
                if (run.code() == 0) continue;
                if (run.output().contains("Error occurred during initialization of VM")) {
                    // Too few for the JVM itself to start: its own sentence, before any ibot4j code runs.
                    assertThat(run.output()).contains("unable to create native thread");
                    continue;
                }
                sentences++;
                assertThat(run.code()).as("pids.max %d: %s", limit, run.output()).isIn(1, Failures.FATAL);
                assertThat(run.output()).as("pids.max %d", limit).containsAnyOf("could not start a thread", "intra-op threads asked for", "could not start ibot4j's compute thread")
                        .contains("pids.max " + limit).doesNotContain("libgomp").doesNotContain("Exception in thread");
            }
        } finally {
            Cgroups.remove(cgroup);
        }
        assertThat(sentences).as("no limit stopped the run: the limits tried are too high for this JVM").isPositive();
        assertThat(hsErrFiles(dir)).isEmpty();
    }

    @Test
    void aRunLargerThanTheMemoryLimitIsRefusedBeforeAnythingIsWritten(@TempDir Path dir) throws Exception {
        Path cgroup = Cgroups.make("memory", dir);
        try {
            Files.writeString(cgroup.resolve(Files.exists(cgroup.resolve("memory.max")) ? "memory.max" : "memory.limit_in_bytes"),
                    String.valueOf(400L << 20));
            Path output = dir.resolve("big");
            Run run = run(cgroup, dir, Map.of(), "pretrain", "--data", org.ibot4j.trainer.data.IdxDatasetTest.FASHION.toString(), "--output",
                    output.toString(), "--arch", "vit_small", "--max_steps", "1");
            assertThat(run.code()).as(run.output()).isEqualTo(1);
            assertThat(run.output()).contains("this run cannot fit").contains("memory limit of this process (its cgroup) is 0.4 GiB")
                    .contains("--batch_size");
            assertThat(output).doesNotExist();
        } finally {
            Cgroups.remove(cgroup);
        }
    }

    @Test
    void tooFewOpenFilesIsRefusedUpFront(@TempDir Path dir) throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/prlimit")), "prlimit (util-linux) is needed");
        Path output = dir.resolve("few");
        List<String> command = new ArrayList<>(List.of("/usr/bin/prlimit", "--nofile=40:40"));
        command.addAll(Launcher.workerCommand(DistributedTest.tiny(output, 8, 2)));
        Run run = start(command, dir, Map.of());
        assertThat(run.code()).as(run.output()).isEqualTo(1);
        assertThat(run.output()).contains("ulimit -n is 40").contains("raise it");
        assertThat(output).doesNotExist();
    }

    private static Path makeCheckpoint(Path dir) throws IOException {
        Path output = dir.resolve("ckpt-run");
        CliTest.Result made = CliTest.run(DistributedTest.tiny(output, 8, 1).toArray(String[]::new));
        assertThat(made.code()).as(made.err()).isZero();
        return output;
    }

    private static Run run(Path cgroup, Path dir, Map<String, String> env, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of("bash", "-c", "echo $$ > \"$0\"/cgroup.procs && exec \"$@\"", cgroup.toString()));
        command.addAll(Launcher.workerCommand(List.of(args)));
        return start(command, dir, env);
    }

    private static Run start(List<String> command, Path dir, Map<String, String> env) throws Exception {
        Path log = Files.createTempFile(dir, "run", ".log");
        ProcessBuilder builder = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).redirectOutput(log.toFile());
        builder.environment().putAll(env);
        Process p = builder.start();
        boolean ended = p.waitFor(SECONDS, TimeUnit.SECONDS);
        if (!ended) p.destroyForcibly().waitFor();
        String output = Files.readString(log, StandardCharsets.UTF_8);
        assertThat(ended).as("still running after %d s: %s", SECONDS, output).isTrue();
        return new Run(p.exitValue(), output);
    }

    private static List<Path> hsErrFiles(Path dir) throws IOException {
        try (Stream<Path> files = Files.walk(dir)) {
            return files.filter(f -> f.getFileName().toString().startsWith("hs_err_pid")).toList();
        }
    }
}
