package org.ibot4j.trainer.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.ibot4j.api.IbotModel;
import org.ibot4j.api.io.AtomicFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The output on a file system that fills up in the middle of a checkpoint write (a 1.1 MB tmpfs: two
 * checkpoints of this model fit, the third does not): the run stops with a message, the JVM does not
 * crash (LibTorch's own file writer would abort the process), the previous checkpoint loads, and no
 * temporary file is left. Needs root for the mount (CI and these machines run as root); skipped otherwise.
 */
class DiskFullTest {
    @Test
    void aFullDiskStopsTheRunWithAMessageAndKeepsThePreviousCheckpoint(@TempDir Path dir) throws Exception {
        Path mount = tmpfs(dir.resolve("small"), "1100k");
        try {
            Path output = mount.resolve("run");
            List<String> args = DistributedTest.tiny(output, 8, 24, "--save_every", "1", "--keep_checkpoints", "2");
            List<String> command = Launcher.workerCommand(args);
            Path log = dir.resolve("run.log");
            Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            assertThat(p.waitFor(2, TimeUnit.MINUTES)).isTrue();
            String out = Files.readString(log, StandardCharsets.UTF_8);
            assertThat(p.exitValue()).as(out).isEqualTo(1);
            assertThat(out).contains("No space left on device").doesNotContain("terminate called").doesNotContain("NullPointerException")
                    .doesNotContain("I/O error writing PNG");
            List<Path> left;
            try (Stream<Path> files = Files.list(output.resolve("checkpoints"))) {
                left = files.toList();
            }
            assertThat(left.stream().filter(AtomicFiles::isTemporary).toList()).isEmpty();
            Path newest = left.stream().sorted().reduce((a, b) -> b).orElseThrow();
            try (IbotModel model = IbotModel.open(newest, 1)) {
                assertThat(model.tensorNames()).isNotEmpty();
            }
        } finally {
            new ProcessBuilder("umount", mount.toString()).start().waitFor();
        }
    }

    /**
     * A full temporary folder (a 64 KiB tmpfs filled to the last byte as java.io.tmpdir): before, the run
     * stopped after its first checkpoint on ImageIO's cache file although the output had room. Now PNGs
     * are encoded in memory and figures are extras: the run ends normally and leaves nothing in /tmp.
     */
    @Test
    void aFullTemporaryFolderDoesNotStopTheRun(@TempDir Path dir) throws Exception {
        Path tmp = tmpfs(dir.resolve("tmp"), "64k");
        try {
            try (OutputStream fill = Files.newOutputStream(tmp.resolve("filler"))) {
                byte[] block = new byte[4096];
                while (true) fill.write(block);
            } catch (IOException full) {
                // the tmpfs is full now
            }
            Path output = dir.resolve("run");
            List<String> command = Launcher.javaCommand(Ibot4jCli.class.getName(), List.of("-Djava.io.tmpdir=" + tmp),
                    DistributedTest.tiny(output, 8, 6, "--save_every", "2"));
            Path log = dir.resolve("run.log");
            Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            assertThat(p.waitFor(2, TimeUnit.MINUTES)).isTrue();
            String out = Files.readString(log, StandardCharsets.UTF_8);
            assertThat(p.exitValue()).as(out).isZero();
            assertThat(Files.readAllLines(output.resolve("metrics.csv"))).hasSize(1 + 6);
            assertThat(output.resolve("report.html")).isRegularFile();
            try (Stream<Path> left = Files.list(tmp)) {
                assertThat(left.map(f -> f.getFileName().toString()).toList()).containsExactly("filler");
            }
        } finally {
            new ProcessBuilder("umount", tmp.toString()).start().waitFor();
        }
    }

    /** A tmpfs of {@code size} mounted at {@code at} (created); the test is skipped where mounting is not allowed. */
    private static Path tmpfs(Path at, String size) throws Exception {
        Files.createDirectories(at);
        assumeTrue(new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=" + size, "tmpfs", at.toString()).start().waitFor() == 0,
                "mounting a tmpfs needs root");
        return at;
    }
}
