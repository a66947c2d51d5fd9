package org.ibot4j.trainer.run.running;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.ibot4j.api.IbotModel;
import org.ibot4j.trainer.data.IdxDatasetTest;
import org.ibot4j.trainer.run.PretrainOptions;
import org.ibot4j.trainer.run.reporting.MetricsLog;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The pretrain command end to end on a sliver of Fashion-MNIST with a tiny ViT: 4 iterations per epoch, 3 epochs. */
public class PretrainerTest {
    static final ObjectMapper JSON = new ObjectMapper();
    public static final PrintStream QUIET = new PrintStream(new ByteArrayOutputStream());

    /** A run of {@code options} as the CLI makes it, its console lines to {@code out}. */
    public static Pretraining.Result run(PretrainOptions options, PrintStream out) throws IOException {
        return Pretraining.of(options).console(out).build().run();
    }

    public static PretrainOptions tiny(Path output, Map<String, Object> extra) {
        Map<String, Object> m = new HashMap<>(Map.ofEntries(
                Map.entry("data_path", IdxDatasetTest.FASHION.toString()), Map.entry("output_dir", output.toString()),
                Map.entry("arch", "vit_tiny"), Map.entry("embed_dim", 32), Map.entry("depth", 1), Map.entry("num_heads", 2),
                Map.entry("out_dim", 64), Map.entry("patch_out_dim", 64), Map.entry("head_hidden_dim", 64),
                Map.entry("head_bottleneck_dim", 16), Map.entry("local_crops_number", 2), Map.entry("batch_size_per_gpu", 8),
                Map.entry("subset", 32), Map.entry("epochs", 3), Map.entry("warmup_epochs", 1),
                Map.entry("warmup_teacher_temp_epochs", 3), Map.entry("freeze_last_layer", 1), Map.entry("lr", 0.05),
                Map.entry("saveckp_iters", 2), Map.entry("keep_checkpoints", 2), Map.entry("threads", 2), Map.entry("num_workers", 2)));
        m.putAll(extra);
        return new PretrainOptions().given(m);
    }

    @Test
    void stoppedAndResumedRunEndsBitIdenticalToAnUninterruptedOne(@TempDir Path dir) throws IOException {
        Pretraining.Result whole = run(tiny(dir.resolve("whole"), Map.of()), QUIET);
        assertThat(whole.iteration()).isEqualTo(12);

        Path split = dir.resolve("split");
        Pretraining.Result first = run(tiny(split, Map.of("max_steps", 5)), QUIET);
        assertThat(first.iteration()).isEqualTo(5);
        // The same command again resumes by itself; max_steps counts from the start of the run.
        Pretraining.Result again = run(tiny(split, Map.of("max_steps", 5)), QUIET);
        assertThat(again.iteration()).isEqualTo(5);
        Pretraining.Result rest = run(tiny(split, Map.of()), QUIET);
        assertThat(rest.iteration()).isEqualTo(12);

        try (IbotModel a = IbotModel.open(whole.checkpoint(), 2); IbotModel b = IbotModel.open(rest.checkpoint(), 2)) {
            assertThat(b.tensorNames()).isEqualTo(a.tensorNames());
            for (String name : a.tensorNames()) assertThat(b.readTensor(name)).as(name).containsExactly(a.readTensor(name));
        }
        List<String> wholeLosses = column(dir.resolve("whole/metrics.csv"), "loss");
        assertThat(column(split.resolve("metrics.csv"), "iteration")).containsExactly("0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11");
        assertThat(column(split.resolve("metrics.csv"), "loss")).isEqualTo(wholeLosses);
        assertThat(Files.readAllLines(split.resolve("metrics.jsonl"))).hasSize(12);
        assertThat(split.resolve("loss.png")).isNotEmptyFile();
    }

    @Test
    void checkpointsCarryTheRunStateAndOnlyTheLastAreKept(@TempDir Path dir) throws IOException {
        Pretraining.Result run = run(tiny(dir, Map.of("max_steps", 7)), QUIET);
        try (var files = Files.list(dir.resolve("checkpoints"))) {
            assertThat(files.map(p -> p.getFileName().toString()).sorted().toList())
                    .containsExactly("ckpt-00000006.ibot4j", "ckpt-00000007.ibot4j");
        }
        JsonNode meta = JSON.readTree(IbotModel.readMetadata(run.checkpoint()));
        assertThat(meta.get("iteration").asLong()).isEqualTo(7);
        assertThat(meta.get("epoch").asInt()).isEqualTo(1);
        assertThat(meta.at("/loader/next_batch").asLong()).isEqualTo(7);
        assertThat(meta.at("/loader/seed").asInt()).isZero();
        assertThat(meta.at("/options/lr").asDouble()).isEqualTo(0.05);
        assertThat(meta.at("/options/patch_size").asInt()).isEqualTo(8);  // the small-image default, resolved
        assertThat(meta.at("/versions/libtorch").asText()).matches("\\d+\\.\\d+.*");
        assertThat(meta.at("/versions/ibot4j").asText()).isNotEqualTo("unknown");

        JsonNode row = JSON.readTree(Files.readAllLines(dir.resolve("metrics.jsonl")).get(6));
        for (String column : MetricsLog.COLUMNS) assertThat(row.has(column)).as(column).isTrue();
        assertThat(row.get("iteration").asInt()).isEqualTo(6);
        assertThat(row.get("lr").asDouble()).isPositive();
        assertThat(row.get("teacher_temp").asDouble()).isEqualTo(0.055);  // epoch 1 of linspace(0.04, 0.07, 3)
        assertThat(row.get("images_per_s").asDouble()).isPositive();
        assertThat(row.get("data_wait_s").asDouble()).isGreaterThanOrEqualTo(0);
    }

    @Test
    void resumingWithOtherTrainingOptionsOrRefusingToResumeIsAClearError(@TempDir Path dir) throws IOException {
        run(tiny(dir, Map.of("max_steps", 2)), QUIET);
        assertThatThrownBy(() -> run(tiny(dir, Map.of("lr", 0.01)), QUIET))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("cannot resume with different training options").hasMessageContaining("lr is 0.05 in the checkpoint, 0.01 now");
        assertThatThrownBy(() -> run(tiny(dir, Map.of("resume", "false")), QUIET))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("already holds checkpoints");
        assertThat(dir.resolve("checkpoints/ckpt-00000002.ibot4j")).isNotEmptyFile();
        assertThat(Files.readAllLines(dir.resolve("metrics.csv"))).hasSize(3);
    }

    static List<String> column(Path csv, String name) throws IOException {
        return MetricsLog.readCsv(csv).stream().map(r -> r.get(name)).toList();
    }
}
