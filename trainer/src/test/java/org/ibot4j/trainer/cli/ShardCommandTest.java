package org.ibot4j.trainer.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.ibot4j.trainer.data.Datasets;
import org.ibot4j.trainer.data.ImageSource;
import org.ibot4j.trainer.data.ShardFixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code ibot4j shard}: writes shards a --data argument reads; bad options stop it before anything is created. */
class ShardCommandTest {
    @Test
    void aFolderBecomesShardsThatTrainingReads(@TempDir Path dir) throws IOException {
        Path images = ShardFixtures.folder(dir.resolve("images"), 11);
        Path output = dir.resolve("out");
        CliTest.Result r = CliTest.run("shard", "--images", images.toString(), "--format", "parquet", "--shard_size", "5", "--output", output.toString());
        assertThat(r.code()).as(r.err()).isZero();
        String data = output.resolve("shard-{000000..000002}.parquet").toString();
        assertThat(r.out()).contains("wrote 11 images").contains("3 Parquet shard(s)").contains("--data '" + data + "'");
        ImageSource source = Datasets.open(data, Datasets.Split.TRAIN);
        assertThat(source.size()).isEqualTo(11);

        CliTest.Result again = CliTest.run("shard", "--images", images.toString(), "--format", "webdataset", "--output", output.toString());
        assertThat(again.code()).isNotZero();
        assertThat(again.err()).contains("already holds shards");
    }

    @Test
    void badOptionsCreateNothing(@TempDir Path dir) throws IOException {
        Path images = ShardFixtures.folder(dir.resolve("images"), 2);
        Path output = dir.resolve("out");
        CliTest.Result format = CliTest.run("shard", "--images", images.toString(), "--format", "zip", "--output", output.toString());
        assertThat(format.err()).contains("--format zip: give webdataset or parquet");
        CliTest.Result size = CliTest.run("shard", "--images", images.toString(), "--format", "parquet", "--shard_size", "0", "--output", output.toString());
        assertThat(size.err()).contains("--shard_size must be at least 1");
        CliTest.Result missing = CliTest.run("shard", "--images", dir.resolve("nothing").toString(), "--format", "parquet", "--output", output.toString());
        assertThat(missing.err()).contains("is not a folder");
        assertThat(Files.exists(output)).isFalse();
    }
}
