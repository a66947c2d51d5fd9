package org.ibot4j.trainer.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.ibot4j.api.io.AtomicFiles;
import org.ibot4j.trainer.data.IdxDatasetTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The kill loop of the reliability suite: a run with a checkpoint after every step is killed with
 * SIGKILL at random moments (often inside a checkpoint or metrics write) and restarted until it
 * finishes. It must end with the teacher an uninterrupted run ends with, bit for bit, every iteration
 * in metrics.jsonl and metrics.csv exactly once, every k-NN measurement once, no temporary file left
 * and no more checkpoints than kept. {@code -Dibot4j.chaos.kills=N} sets the kills (ci/chaos: 50).
 */
class KillLoopIT {
    private static final int KILLS = Integer.getInteger("ibot4j.chaos.kills", 5);
    /** Six steps an epoch; long enough that every kill lands before the end. */
    private static final int STEPS = 6 * Math.max(4, (2 * KILLS + 5) / 6);
    private static final ObjectMapper JSON = new ObjectMapper();

    static List<String> run(Path output) {
        return List.of("pretrain", "--data", IdxDatasetTest.FASHION.toString(), "--output", output.toString(), "--arch", "vit_tiny",
                "--embed_dim", "64", "--depth", "2", "--num_heads", "2", "--out_dim", "128", "--patch_out_dim", "128", "--head_hidden_dim", "128",
                "--head_bottleneck_dim", "32", "--local_crops_number", "2", "--batch_size", "16", "--subset", "96", "--epochs", String.valueOf(STEPS / 6),
                "--warmup_epochs", "1", "--warmup_teacher_temp_epochs", "2", "--save_every", "1", "--keep_checkpoints", "2",
                "--knn_every", "1", "--knn_train", "64", "--knn_test", "32", "--threads", "1", "--num_workers", "1");
    }

    @Test
    void killedAtRandomAndRestartedTheRunEndsAsAnUninterruptedOne(@TempDir Path dir) throws Exception {
        int kills = KILLS;
        Path reference = dir.resolve("reference"), chaos = dir.resolve("chaos");
        assertThat(start(run(reference), dir.resolve("reference.log")).waitFor()).isZero();

        SplittableRandom random = new SplittableRandom(12);
        int killed = 0, starts = 0;
        while (true) {
            Process p = start(run(chaos), dir.resolve("chaos-" + starts++ + ".log"));
            if (killed < kills) {
                long rows = rows(chaos);
                // Wait for progress (one more metrics row), then kill somewhere inside the next step.
                while (p.isAlive() && rows(chaos) <= rows) Thread.sleep(5);
                Thread.sleep(random.nextInt(0, 250));
                if (p.isAlive()) {
                    p.destroyForcibly().waitFor();
                    killed++;
                    continue;
                }
            }
            assertThat(p.waitFor(5, TimeUnit.MINUTES)).isTrue();
            assertThat(p.exitValue()).as(Files.readString(dir.resolve("chaos-" + (starts - 1) + ".log"))).isZero();
            if (lastIteration(chaos) >= STEPS - 1) break;
        }
        System.out.printf("kill loop: %d kills in %d starts over %d steps, run complete%n", killed, starts, STEPS);
        assertThat(killed).isEqualTo(kills);

        assertThat(DistributedTest.maxTeacherDifference(checkpoint(reference), checkpoint(chaos))).isZero();
        assertThat(iterations(chaos.resolve("metrics.jsonl"), false)).containsExactlyElementsOf(range(STEPS));
        assertThat(iterations(chaos.resolve("metrics.csv"), true)).containsExactlyElementsOf(range(STEPS));
        assertThat(Files.readAllLines(chaos.resolve("knn.jsonl"))).isNotEmpty()
                .containsExactlyElementsOf(Files.readAllLines(reference.resolve("knn.jsonl")));
        try (Stream<Path> files = Stream.concat(Files.list(chaos), Files.list(chaos.resolve("checkpoints")))) {
            assertThat(files.filter(AtomicFiles::isTemporary).toList()).as("temporary files left").isEmpty();
        }
        try (Stream<Path> files = Files.list(chaos.resolve("checkpoints"))) {
            assertThat(files.count()).isLessThanOrEqualTo(2);
        }
    }

    private static Path checkpoint(Path run) {
        return run.resolve(String.format("checkpoints/ckpt-%08d.ibot4j", STEPS));
    }

    private static List<Long> range(int n) {
        List<Long> out = new ArrayList<>();
        for (long i = 0; i < n; i++) out.add(i);
        return out;
    }

    /** The iteration of every line; a line that does not parse fails the test. */
    private static List<Long> iterations(Path file, boolean csv) throws IOException {
        List<Long> out = new ArrayList<>();
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        for (int i = csv ? 1 : 0; i < lines.size(); i++) {
            String line = lines.get(i);
            if (csv) {
                out.add(Long.parseLong(line.substring(0, line.indexOf(','))));
            } else {
                JsonNode row = JSON.readTree(line);
                out.add(row.get("iteration").asLong());
            }
        }
        return out;
    }

    private static long rows(Path run) throws IOException {
        Path csv = run.resolve("metrics.csv");
        if (!Files.exists(csv)) return 0;
        try (Stream<String> lines = Files.lines(csv)) {
            return lines.count();
        } catch (UncheckedIOException e) {
            return 0;
        }
    }

    private static long lastIteration(Path run) throws IOException {
        List<Long> seen = iterations(run.resolve("metrics.jsonl"), false);
        return seen.isEmpty() ? -1 : seen.get(seen.size() - 1);
    }

    private static Process start(List<String> args, Path log) throws IOException {
        return new ProcessBuilder(Launcher.workerCommand(args)).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }
}
