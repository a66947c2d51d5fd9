package org.ibot4j.trainer.run.running;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.LongStream;
import org.ibot4j.api.IbotModel;
import org.ibot4j.trainer.run.PretrainOptions;
import org.ibot4j.trainer.run.PretrainSetup;
import org.ibot4j.trainer.run.checkpoints.ScheduleExtension;
import org.ibot4j.trainer.run.reporting.MetricsLog;
import org.ibot4j.trainer.schedule.Schedules;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A finished 3-epoch run (12 steps) lengthened to 4 epochs with --extend_schedule. */
class ExtendScheduleTest {
    @Test
    void aFinishedRunContinuesOnSchedulesRecomputedOverTheNewLength(@TempDir Path dir) throws IOException {
        Pretraining.Result finished = PretrainerTest.run(PretrainerTest.tiny(dir, Map.of()), PretrainerTest.QUIET);
        assertThat(finished.iteration()).isEqualTo(12);
        List<Map<String, String>> before = MetricsLog.readCsv(dir.resolve("metrics.csv"));

        assertThatThrownBy(() -> PretrainerTest.run(PretrainerTest.tiny(dir, Map.of("epochs", 4)), PretrainerTest.QUIET))
                .hasMessageContaining("epochs is 3 in the checkpoint, 4 now").hasMessageContaining("--extend_schedule");
        assertThatThrownBy(() -> PretrainerTest.run(PretrainerTest.tiny(dir, Map.of("epochs", 2, "extend_schedule", true)), PretrainerTest.QUIET))
                .hasMessageContaining("2 is shorter than the checkpoint's 3");

        ByteArrayOutputStream text = new ByteArrayOutputStream();
        Pretraining.Result extended = PretrainerTest.run(PretrainerTest.tiny(dir, Map.of("epochs", 4, "extend_schedule", true)),
                new PrintStream(text, true, StandardCharsets.UTF_8));
        assertThat(text.toString(StandardCharsets.UTF_8)).contains("16 in the schedule; from ckpt-00000012.ibot4j at 12, until 16");
        assertThat(extended.iteration()).isEqualTo(16);

        // Steps continue from the saved one, each iteration once; the first 12 rows are the original run's.
        List<Map<String, String>> rows = MetricsLog.readCsv(dir.resolve("metrics.csv"));
        assertThat(rows).extracting(r -> Long.parseLong(r.get("iteration"))).containsExactlyElementsOf(LongStream.range(0, 16).boxed().toList());
        assertThat(rows.subList(0, 12)).isEqualTo(before);
        assertThat(Files.readAllLines(dir.resolve("metrics.jsonl"))).hasSize(16);

        // Steps 12..15 follow the official schedules of a 4-epoch run (global batch 8, 4 steps per epoch), not the 3-epoch ones.
        // With the small-image defaults, as the run resolved them.
        PretrainOptions four = PretrainSetup.of(PretrainerTest.tiny(dir, Map.of("epochs", 4)), 32, new int[] {28, 28}).options();
        Schedules expected = PretrainSetup.schedules(four, 8, 4);
        for (Map<String, String> row : rows.subList(12, 16)) {
            long it = Long.parseLong(row.get("iteration"));
            assertThat(Double.parseDouble(row.get("lr"))).as("lr at " + it).isCloseTo(expected.lr().at(it), within(1e-5 * expected.lr().at(it)));
            assertThat(Double.parseDouble(row.get("weight_decay"))).isCloseTo(expected.weightDecay().at(it), within(1e-5));
            assertThat(Double.parseDouble(row.get("teacher_momentum"))).isCloseTo(expected.momentum().at(it), within(1e-6));
            assertThat(Double.parseDouble(row.get("teacher_temp"))).isEqualTo(0.07);  // the warm-up ended after 3 epochs
        }
        // The old run ended at its min_lr floor; the new curve resumes well above it (a jump, as on an official restart).
        assertThat(Double.parseDouble(rows.get(12).get("lr"))).isGreaterThan(5 * Double.parseDouble(rows.get(11).get("lr")));

        JsonNode options = PretrainerTest.JSON.readTree(dir.resolve("options.json").toFile());
        assertThat(options.get("epochs").asInt()).isEqualTo(4);
        JsonNode record = options.get(ScheduleExtension.KEY).get(0);
        assertThat(record.get("iteration").asLong()).isEqualTo(12);
        assertThat(record.get("epochs_before").asInt()).isEqualTo(3);
        assertThat(record.get("epochs_after").asInt()).isEqualTo(4);
        assertThat(record.get("note").asText()).contains("not equal to an uninterrupted 4-epoch run");
        JsonNode meta = PretrainerTest.JSON.readTree(IbotModel.readMetadata(extended.checkpoint()));
        assertThat(meta.get(ScheduleExtension.KEY)).isEqualTo(options.get(ScheduleExtension.KEY));

        // Running the same command again resumes the extended run: nothing left, nothing duplicated, the record kept once.
        Pretraining.Result again = PretrainerTest.run(PretrainerTest.tiny(dir, Map.of("epochs", 4, "extend_schedule", true)), PretrainerTest.QUIET);
        assertThat(again.iteration()).isEqualTo(16);
        assertThat(MetricsLog.readCsv(dir.resolve("metrics.csv"))).hasSize(16);
        assertThat(PretrainerTest.JSON.readTree(dir.resolve("options.json").toFile()).get(ScheduleExtension.KEY)).hasSize(1);
    }
}
