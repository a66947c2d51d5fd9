package org.ibot4j.trainer.run.running;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;
import org.ibot4j.trainer.run.reporting.MetricsLog;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A real three-step run recorded in-process with JDK Flight Recorder, its ibot4j events read back from the file. */
class FlightRecorderEventsTest {
    @Test
    void aRecordedRunHasOneEventPerStepAndPerCheckpoint(@TempDir Path dir) throws IOException {
        Path output = dir.resolve("run"), jfr = dir.resolve("run.jfr");
        try (Recording recording = new Recording()) {
            recording.enable("org.ibot4j.TrainStep");
            recording.enable("org.ibot4j.CheckpointWrite");
            recording.start();
            PretrainerTest.run(PretrainerTest.tiny(output, Map.of("max_steps", 3)), PretrainerTest.QUIET);
            recording.stop();
            recording.dump(jfr);
        }
        List<RecordedEvent> events = RecordingFile.readAllEvents(jfr);
        List<RecordedEvent> steps = events.stream().filter(e -> e.getEventType().getName().equals("org.ibot4j.TrainStep"))
                .sorted(Comparator.comparingLong(e -> e.getLong("step"))).toList();
        List<RecordedEvent> saves = events.stream().filter(e -> e.getEventType().getName().equals("org.ibot4j.CheckpointWrite"))
                .sorted(Comparator.comparingLong(e -> e.getLong("step"))).toList();

        assertThat(steps).extracting(e -> e.getLong("step")).containsExactly(0L, 1L, 2L);
        List<Map<String, String>> rows = MetricsLog.readCsv(output.resolve("metrics.csv"));
        for (RecordedEvent e : steps) {
            Map<String, String> row = rows.get((int) e.getLong("step"));
            assertThat(e.getEventType().getCategoryNames()).containsExactly("ibot4j");
            assertThat(e.getBoolean("finite")).isTrue();
            // lambda1 = lambda2 = 1: the total is the sum of the terms; the metrics row holds the same values to 6 digits.
            assertThat(e.getDouble("loss")).isCloseTo(e.getDouble("clsLoss") + e.getDouble("patchLoss"), within(1e-4));
            assertThat(e.getDouble("loss")).isCloseTo(Double.parseDouble(row.get("loss")), within(1e-4));
            assertThat(e.getDouble("lr")).isCloseTo(Double.parseDouble(row.get("lr")), within(1e-5 * e.getDouble("lr")));
            assertThat(e.getDouble("clsLoss")).isPositive();
            assertThat(e.getDouble("patchLoss")).isPositive();
            Duration wait = e.getDuration("dataWait"), step = e.getDuration("stepTime");
            assertThat(wait).isGreaterThanOrEqualTo(Duration.ZERO).isLessThanOrEqualTo(step);
            assertThat(step).isPositive().isLessThan(Duration.ofMinutes(1));
            assertThat(step.toNanos() / 1e9).isCloseTo(Double.parseDouble(row.get("step_s")), within(1e-3));
            // Collapse metrics: the row's values; an entropy lies in [0, ln(out_dim)], prototypes in [1, min(out_dim, 2 x batch 4)].
            assertThat(e.getDouble("teacherClsEntropy")).isCloseTo(Double.parseDouble(row.get("teacher_cls_entropy")), within(1e-4))
                    .isBetween(0.0, Math.log(64) + 1e-6);
            assertThat(e.getInt("prototypesUsed")).isEqualTo(Integer.parseInt(row.get("prototypes_used"))).isBetween(1, 8);
            assertThat(e.getDouble("effectiveRank")).isCloseTo(Double.parseDouble(row.get("effective_rank")), within(1e-4))
                    .isBetween(1.0, 8.0);
            assertThat(e.getDouble("koleoLoss")).isZero();
            assertThat(e.getDouble("imagesPerSecond")).isCloseTo(8 / (step.toNanos() / 1e9), within(1e-6 * e.getDouble("imagesPerSecond")));
        }
        assertThat(steps.get(0).getDouble("lr")).isZero();  // first step of the linear warm-up
        assertThat(steps.get(2).getDouble("lr")).isGreaterThan(steps.get(1).getDouble("lr"));

        // saveckp_iters 2: after step 2 and at the end (3).
        assertThat(saves).extracting(e -> e.getLong("step")).containsExactly(2L, 3L);
        for (RecordedEvent e : saves) {
            Path file = Path.of(e.getString("path"));
            assertThat(file.getFileName().toString()).isEqualTo(String.format("ckpt-%08d.ibot4j", e.getLong("step")));
            assertThat(e.getLong("bytes")).isEqualTo(Files.size(file)).isGreaterThan(10_000);
            assertThat(e.getDuration()).isPositive();
        }
    }
}
