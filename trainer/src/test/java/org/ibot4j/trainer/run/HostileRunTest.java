package org.ibot4j.trainer.run;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.ibot4j.trainer.data.FashionPngs;
import org.ibot4j.trainer.data.IdxDatasetTest;
import org.ibot4j.trainer.data.SpecialFileFixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs under a hostile but realistic user (issue "Reliability II"): a second writer, options that
 * could only fail late, resumes on other data, special files where checkpoints are expected, and a
 * long run that must not grow its report without bound. Each failed before its fix.
 */
class HostileRunTest {
    private static final long PID = ProcessHandle.current().pid();

    @Test
    void aSecondWriterIsRefusedNamingTheFolderAndTheHolder(@TempDir Path dir) throws IOException {
        Path output = dir.resolve("run");
        Pretrainer.run(PretrainerTest.tiny(output, Map.of("max_steps", 2)), PretrainerTest.QUIET);
        try (RunLock held = RunLock.acquire(output)) {
            assertThatThrownBy(() -> Pretrainer.run(PretrainerTest.tiny(output, Map.of("max_steps", 4)), PretrainerTest.QUIET))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining(output.toString()).hasMessageContaining("pid " + PID).hasMessageContaining("one writer");
        }
        assertThat(Pretrainer.run(PretrainerTest.tiny(output, Map.of("max_steps", 4)), PretrainerTest.QUIET).iteration())
                .as("free again once the holder closed it").isEqualTo(4);
    }

    @Test
    void badOptionsAreRefusedWithTheTypedValueBeforeAnythingIsCreated(@TempDir Path dir) {
        Object[][] cases = {
            {"lr", -1.0, "lr must be a finite number >= 0, got -1.0"},
            {"lr", Double.NaN, "lr must be a finite number >= 0, got NaN"},
            {"teacher_temp", 0.0, "teacher_temp must be a finite number > 0, got 0.0"},
            {"momentum_teacher", 2.0, "momentum_teacher must be in [0, 1]"},
            {"threads", -5, "threads must be >= 0"},
            {"num_workers", -1, "num_workers must be >= 0"},
            // Before: libgomp's exit, or the machine's PIDs used up by loader threads.
            {"threads", 100_000, "threads 100000 is more than the"},
            {"num_workers", 100_000, "num_workers 100000 is more than"},
            {"subset", -1, "subset must be >= 0"},
        };
        for (Object[] c : cases) {
            Path output = dir.resolve("never-" + c[0]);
            assertThatThrownBy(() -> Pretrainer.run(PretrainerTest.tiny(output, Map.of((String) c[0], c[1])), PretrainerTest.QUIET))
                    .as("--%s %s", c[0], c[1]).isInstanceOf(IllegalArgumentException.class).hasMessageContaining((String) c[2]);
            assertThat(output).as("--%s %s created the output", c[0], c[1]).doesNotExist();
        }
    }

    @Test
    void anOutputThatIsAFileIsNamedForWhatItIs(@TempDir Path dir) throws IOException {
        Path file = Files.writeString(dir.resolve("notes.txt"), "mine");
        assertThatThrownBy(() -> Pretrainer.run(PretrainerTest.tiny(file, Map.of()), PretrainerTest.QUIET))
                .hasMessageContaining("is a regular file, not a folder");
        assertThat(Files.readString(file)).isEqualTo("mine");
    }

    @Test
    void aDataProblemFoundAfterTheLockLeavesNoFolderBehind(@TempDir Path dir) {
        Path output = dir.resolve("fresh");
        assertThatThrownBy(() -> Pretrainer.run(PretrainerTest.tiny(output, Map.of("subset", 4)), PretrainerTest.QUIET))
                .hasMessageContaining("fewer than one batch");
        assertThat(output).doesNotExist();
    }

    @Test
    void resumingOnOtherDataIsRefusedUnlessAskedFor(@TempDir Path dir) throws IOException {
        Path output = dir.resolve("run");
        Pretrainer.run(PretrainerTest.tiny(output, Map.of("max_steps", 2)), PretrainerTest.QUIET);
        Path pngs = FashionPngs.write(dir.resolve("pngs"), 40);
        assertThatThrownBy(() -> Pretrainer.run(PretrainerTest.tiny(output, Map.of("max_steps", 4, "data_path", pngs.toString())),
                PretrainerTest.QUIET))
                .hasMessageContaining("cannot resume with different training options")
                .hasMessageContaining("data is " + IdxDatasetTest.FASHION).hasMessageContaining(pngs + " (40 images")
                .hasMessageContaining("--change_data");
        // The same folder spelled another way is the same data.
        Path relative = Path.of("").toAbsolutePath().relativize(IdxDatasetTest.FASHION.toAbsolutePath());
        assertThat(Pretrainer.run(PretrainerTest.tiny(output, Map.of("max_steps", 3, "data_path", relative.toString())),
                PretrainerTest.QUIET).iteration()).isEqualTo(3);
        assertThat(Pretrainer.run(PretrainerTest.tiny(output, Map.of("max_steps", 4, "data_path", pngs.toString(), "change_data", true)),
                PretrainerTest.QUIET).iteration()).isEqualTo(4);
    }

    @Test
    @org.junit.jupiter.api.Timeout(120)  // before the fix, reading the FIFO blocked forever
    void checkpointsThatAreNotRegularFilesAreSkippedNotReadOrWritten(@TempDir Path dir) throws Exception {
        Path output = dir.resolve("run");
        Pretrainer.run(PretrainerTest.tiny(output, Map.of("max_steps", 2, "saveckp_iters", 1)), PretrainerTest.QUIET);
        Path checkpoints = output.resolve("checkpoints");
        Path fifo = checkpoints.resolve("ckpt-00000090.ibot4j");
        SpecialFileFixtures.mkfifo(fifo);
        Path loop = checkpoints.resolve("ckpt-00000091.ibot4j");
        Files.createSymbolicLink(loop, loop.getFileName());
        // Resolving the run folder (export, eval, resume) must neither block on the FIFO nor fail on the loop.
        assertThat(CheckpointStore.resolve(output).getFileName().toString()).isEqualTo("ckpt-00000002.ibot4j");
        assertThatThrownBy(() -> CheckpointStore.resolve(fifo)).hasMessageContaining("is a FIFO");
        // A run with a checkpoint at every step goes past its first save with both names present.
        assertThat(Pretrainer.run(PretrainerTest.tiny(output, Map.of("max_steps", 5, "saveckp_iters", 1)), PretrainerTest.QUIET).iteration())
                .isEqualTo(5);
        assertThat(Files.isSymbolicLink(loop)).isTrue();
        assertThat(Files.getAttribute(fifo, "unix:mode")).isNotNull();
    }

    @Test
    void aLongRunKeepsItsProbesAndReportBounded(@TempDir Path dir) throws IOException {
        Path output = dir.resolve("run");
        Pretrainer.run(PretrainerTest.tiny(output, Map.of("saveckp_iters", 1, "keep_checkpoints", 2)), PretrainerTest.QUIET);
        List<String> kept;
        try (Stream<Path> s = Files.list(output.resolve("probes"))) {
            kept = s.map(p -> p.getFileName().toString()).sorted().toList();
        }
        // 12 checkpoints: those of the 2 kept checkpoints and at most 4 spread over the run, the first among them.
        assertThat(kept).hasSizeLessThanOrEqualTo(2 + ProbeStore.SPREAD).contains("step-00000001", "step-00000011", "step-00000012");
        String html = Files.readString(output.resolve(RunReport.FILE), StandardCharsets.UTF_8);
        assertThat(html.split("<h3>checkpoint at iteration ", -1).length - 1).isEqualTo(kept.size());
    }
}
