package org.ibot4j.trainer.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.ibot4j.trainer.run.PretrainOptions;
import org.ibot4j.trainer.run.checkpoints.RunLock;
import org.ibot4j.trainer.run.running.PretrainerTest;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code pretrain --nproc_per_node 2} whose launcher is killed with SIGKILL: before, its workers
 * trained on with no console; now they see their stdin pipe close and end, and the run folder's lock
 * is free again. While they run, a second writer of the same folder is refused naming the holder.
 */
class LauncherDeathIT {
    @Test
    void workersEndWhenTheirLauncherIsKilledAndTheFolderIsFreed(@TempDir Path dir) throws Exception {
        Path output = dir.resolve("run");
        List<String> args = DistributedTest.tiny(output, 4, 100000, "--nproc_per_node", "2", "--epochs", "100000", "--save_every", "1000");
        Process launcher = new ProcessBuilder(Launcher.workerCommand(args)).redirectErrorStream(true).start();
        try (BufferedReader in = new BufferedReader(new InputStreamReader(launcher.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            StringBuilder seen = new StringBuilder();
            // Rank 0 prints its run line once it holds the lock and the group is up.
            while ((line = in.readLine()) != null && !line.contains("[rank 0] pretraining")) seen.append(line).append('\n');
            assertThat(line).as("the launcher's output:\n%s", seen).isNotNull();
            List<ProcessHandle> workers = launcher.toHandle().children().toList();
            assertThat(workers).hasSize(2);

            PretrainOptions second = PretrainerTest.tiny(output, Map.of("max_steps", 2));
            IllegalStateException refused = Assertions.assertThrows(IllegalStateException.class,
                    () -> PretrainerTest.run(second, PretrainerTest.QUIET));
            assertThat(refused.getMessage()).contains(output.toString());
            assertThat(workers.stream().map(w -> "pid " + w.pid() + " ").anyMatch(refused.getMessage()::contains))
                    .as("the holder named in '%s' is one of the workers %s", refused.getMessage(), workers).isTrue();

            launcher.toHandle().destroyForcibly();  // SIGKILL: no shutdown hook of the launcher runs
            assertThat(launcher.waitFor(30, TimeUnit.SECONDS)).isTrue();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (workers.stream().anyMatch(ProcessHandle::isAlive) && System.nanoTime() < deadline) Thread.sleep(100);
            assertThat(workers.stream().filter(ProcessHandle::isAlive).toList()).as("workers alive 60 s after their launcher died").isEmpty();
        } finally {
            launcher.descendants().forEach(ProcessHandle::destroyForcibly);
            launcher.destroyForcibly();
        }
        try (RunLock free = RunLock.acquire(output)) {
            assertThat(free).isNotNull();
        }
    }
}
