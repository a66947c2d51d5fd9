package org.ibot4j.trainer.run.running;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.ibot4j.trainer.run.running.PretrainerTest.QUIET;
import static org.ibot4j.trainer.run.running.PretrainerTest.run;
import static org.ibot4j.trainer.run.running.PretrainerTest.tiny;

import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.ibot4j.api.IbotModel;
import org.ibot4j.trainer.data.ShardFixtures;
import org.ibot4j.trainer.data.ShardPaths;
import org.ibot4j.trainer.run.PretrainOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Pretraining streamed from shards (32 Fashion-MNIST images in 4 shards, 4 iterations per epoch, 3
 * epochs): killed mid-epoch and resumed, the run ends bit for bit as the uninterrupted one, as for folders.
 */
class ShardResumeTest {
    @Test
    void aRunStoppedMidEpochAndResumedEndsBitIdenticalToAnUninterruptedOne(@TempDir Path dir) throws IOException {
        // WebDataset here; the stream (the same for both formats) is checked on Parquet too in ShardsTest.
        String data = ShardFixtures.shards(dir, 32, ShardPaths.Format.WEBDATASET, 8);
        Pretraining.Result whole = run(options(dir.resolve("whole"), data, Map.of()), QUIET);
        assertThat(whole.iteration()).isEqualTo(12);

        Path split = dir.resolve("split");
        // Step 5 is the second of epoch 1: the lanes are replayed to the middle of their shards.
        assertThat(run(options(split, data, Map.of("max_steps", 5)), QUIET).iteration()).isEqualTo(5);
        Pretraining.Result rest = run(options(split, data, Map.of()), QUIET);
        assertThat(rest.iteration()).isEqualTo(12);

        try (IbotModel a = IbotModel.open(whole.checkpoint(), 2); IbotModel b = IbotModel.open(rest.checkpoint(), 2)) {
            for (String name : a.tensorNames()) assertThat(b.readTensor(name)).as(name).containsExactly(a.readTensor(name));
        }
        assertThat(PretrainerTest.column(split.resolve("metrics.csv"), "loss")).hasSize(12)
                .isEqualTo(PretrainerTest.column(dir.resolve("whole/metrics.csv"), "loss"));

        assertThatThrownBy(() -> run(options(dir.resolve("subset"), data, Map.of("subset", 16)), QUIET))
                .hasMessageContaining("--subset 16: shards are streamed");
    }

    private static PretrainOptions options(Path output, String data, Map<String, Object> extra) {
        Map<String, Object> m = new HashMap<>(Map.of("data_path", data, "subset", 0, "shuffle_buffer", 16));
        m.putAll(extra);
        return tiny(output, m);
    }
}
