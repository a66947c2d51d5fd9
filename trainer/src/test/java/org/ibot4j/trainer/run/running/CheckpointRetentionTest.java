package org.ibot4j.trainer.run.running;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import org.ibot4j.api.IbotModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Retention counts and deletes only readable checkpoints: a damaged file with a checkpoint's name cannot push them out. */
class CheckpointRetentionTest {
    @Test
    void aJunkFileNamedLikeTheNewestCheckpointNeitherDeletesTheRunsOwnNorBreaksResume(@TempDir Path dir) throws IOException {
        Path checkpoints = Files.createDirectories(dir.resolve("checkpoints"));
        byte[] junk = new byte[100];
        new Random(7).nextBytes(junk);
        Files.write(checkpoints.resolve("ckpt-99999999.ibot4j"), junk);
        Files.write(checkpoints.resolve("ckpt-123456789012345678901234567890.ibot4j"), junk);  // unparseable as a long

        PretrainerTest.run(PretrainerTest.tiny(dir, Map.of("saveckp_iters", 1, "keep_checkpoints", 1, "max_steps", 3)), PretrainerTest.QUIET);
        try (var files = Files.list(checkpoints)) {
            assertThat(files.map(p -> p.getFileName().toString()).sorted().toList())
                    .containsExactly("ckpt-00000003.ibot4j", "ckpt-123456789012345678901234567890.ibot4j", "ckpt-99999999.ibot4j");
        }
        try (IbotModel model = IbotModel.open(checkpoints.resolve("ckpt-00000003.ibot4j"), 1)) {
            assertThat(model.tensorNames()).isNotEmpty();
        }
        Pretraining.Result resumed = PretrainerTest.run(PretrainerTest.tiny(dir, Map.of("saveckp_iters", 1, "keep_checkpoints", 1, "max_steps", 4)),
                PretrainerTest.QUIET);
        assertThat(resumed.iteration()).isEqualTo(4);
        assertThat(Files.exists(checkpoints.resolve("ckpt-00000004.ibot4j"))).isTrue();
        assertThat(Files.exists(checkpoints.resolve("ckpt-00000003.ibot4j"))).isFalse();
    }

    @Test
    void aResumedRunLogsEachKnnMeasurementOnce(@TempDir Path dir) throws IOException {
        // 4 steps an epoch: k-NN at 4, 8, 12; checkpoints at 4 and 8.
        PretrainerTest.run(PretrainerTest.tiny(dir, monitored(8)), PretrainerTest.QUIET);
        // The process died after the k-NN at 8 but before that step's checkpoint: the run resumes from 4.
        Files.delete(dir.resolve("checkpoints/ckpt-00000008.ibot4j"));
        PretrainerTest.run(PretrainerTest.tiny(dir, monitored(12)), PretrainerTest.QUIET);
        assertThat(Files.readAllLines(dir.resolve("knn.jsonl")).stream().map(l -> l.replaceAll(".*\"iteration\":(\\d+).*", "$1")).toList())
                .containsExactly("4", "8", "12");
    }

    private static Map<String, Object> monitored(int maxSteps) {
        return Map.of("knn_every", 1, "knn_train", 100, "knn_test", 20, "epochs", 3, "warmup_teacher_temp_epochs", 3, "saveckp_iters", 4,
                "max_steps", maxSteps);
    }
}
