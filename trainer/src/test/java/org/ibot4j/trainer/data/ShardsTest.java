package org.ibot4j.trainer.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.ibot4j.trainer.data.shards.ParquetWriter;
import org.ibot4j.trainer.data.shards.TarWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** WebDataset and Parquet shards: written from a folder, read back as the folder's images; damage named. */
class ShardsTest {
    @ParameterizedTest
    @EnumSource(ShardPaths.Format.class)
    void shardsWrittenFromAFolderHoldItsImagesAndLabels(ShardPaths.Format format, @TempDir Path dir) throws IOException {
        String data = ShardFixtures.shards(dir, 20, format, 7);
        assertThat(data).endsWith(format == ShardPaths.Format.WEBDATASET ? "shard-{000000..000002}.tar" : "shard-{000000..000002}.parquet");
        FileImageSource folder = FileImageSource.folder(dir.resolve("images"));
        ImageSource shards = Datasets.open(data, Datasets.Split.TRAIN);
        assertThat(shards).isInstanceOf(ShardedImageSource.class);
        assertThat(shards.size()).isEqualTo(20);
        assertThat(((ShardedImageSource) shards).samples(2)).isEqualTo(6);
        // The same (class name, pixels) pairs, in another (shuffled) order.
        assertThat(shards.numClasses()).isEqualTo(folder.numClasses());
        assertThat(pairs(shards, i -> String.valueOf(shards.label(i)))).containsExactlyInAnyOrderElementsOf(pairs(folder, i -> String.valueOf(folder.label(i))));
    }

    private interface Name {
        String of(int i);
    }

    private static List<String> pairs(ImageSource source, Name name) throws IOException {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < source.size(); i++) {
            RgbImage image = source.load(i);
            out.add(name.of(i) + " " + image.width() + "x" + image.height() + " " + Arrays.deepHashCode(image.planes()));
        }
        return out;
    }

    @Test
    void gnuTarReadsOurShardsAndWeReadGnuTarsLongNames(@TempDir Path dir) throws Exception {
        String data = ShardFixtures.shards(dir, 6, ShardPaths.Format.WEBDATASET, 6);
        Process list = new ProcessBuilder("tar", "-tf", data).redirectErrorStream(true).start();
        String members = new String(list.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(list.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(list.exitValue()).as(members).isZero();
        assertThat(members.lines().toList()).hasSize(12).allMatch(m -> m.matches("class\\d/img\\d+\\.(png|jpg|cls)"));

        // GNU tar's own archive, with a member name past ustar's 100 characters.
        Path src = Files.createDirectories(dir.resolve("src"));
        String longKey = "k".repeat(120);
        Files.copy(dir.resolve("images/class9/img0.png"), src.resolve(longKey + ".png"));
        Files.writeString(src.resolve(longKey + ".cls"), "9\n");
        Files.copy(dir.resolve("images/class2/img1.jpg"), src.resolve("b.jpg"));
        Files.writeString(src.resolve("b.json"), "{}");
        Files.writeString(src.resolve("notes.txt"), "a key with no image");
        Path gnu = dir.resolve("gnu.tar");
        Process tar = new ProcessBuilder("tar", "--format=gnu", "-cf", gnu.toString(), "-C", src.toString(), longKey + ".cls", longKey + ".png",
                "b.jpg", "b.json", "notes.txt").redirectErrorStream(true).start();
        assertThat(tar.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(tar.exitValue()).isZero();
        Process gzip = new ProcessBuilder("gzip", "-k", gnu.toString()).redirectErrorStream(true).start();
        assertThat(gzip.waitFor(30, TimeUnit.SECONDS)).isTrue();
        // GNU tar's archive, and the same gzipped (.tar.gz, as webdataset also reads)
        for (String name : List.of("gnu.tar", "gnu.tar.gz")) {
            WebDatasetSource source = (WebDatasetSource) Datasets.open(dir.resolve(name).toString(), Datasets.Split.TRAIN);
            assertThat(source.size()).as(name).isEqualTo(2);
            assertThat(source.label(0)).isEqualTo(9);
            assertThat(source.label(1)).isEqualTo(-1);
            assertThat(source.numClasses()).isEqualTo(10);
            assertThat(source.load(0).planes()).isDeepEqualTo(ImageDecoder.decode(dir.resolve("images/class9/img0.png")).planes());
        }
        // Cut short, the gzipped tar keeps what it holds whole before the cut: the first sample.
        byte[] gz = Files.readAllBytes(dir.resolve("gnu.tar.gz"));
        Path cut = dir.resolve("cut.tar.gz");
        Files.write(cut, Arrays.copyOf(gz, gz.length - 300));
        assertThat(Datasets.open(cut.toString(), Datasets.Split.TRAIN).size()).isEqualTo(1);
    }

    @Test
    void aTruncatedTarKeepsItsWholeSamplesAndAFileThatIsNoTarIsRefusedByName(@TempDir Path dir) throws IOException {
        String data = ShardFixtures.shards(dir, 12, ShardPaths.Format.WEBDATASET, 6);
        Path first = dir.resolve("shards/shard-000000.tar");
        byte[] whole = Files.readAllBytes(first);
        // Cut inside the 5th sample's image: samples 1-4 stay (each is an image and a .cls member).
        int cut = offsetOfMember(whole, 8) + 600;
        Files.write(first, Arrays.copyOf(whole, cut));
        WebDatasetSource source = (WebDatasetSource) Datasets.open(data, Datasets.Split.TRAIN);
        assertThat(source.samples(0)).isEqualTo(4);
        assertThat(source.size()).isEqualTo(10);
        for (int i = 0; i < source.size(); i++) assertThat(source.load(i).width()).isEqualTo(28);

        Files.writeString(first, "not a tar at all, but long enough to fill a header? no.".repeat(20));
        assertThatThrownBy(() -> Datasets.open(data, Datasets.Split.TRAIN)).isInstanceOf(IOException.class)
                .hasMessageContaining("shard-000000.tar").hasMessageContaining("not a tar archive");
        Files.delete(first);
        assertThatThrownBy(() -> Datasets.open(data, Datasets.Split.TRAIN)).isInstanceOf(IOException.class)
                .hasMessageContaining("1 of the 2 shard(s)").hasMessageContaining("shard-000000.tar");
    }

    /** The byte offset of the header of member {@code n} (0-based) of a tar. */
    private static int offsetOfMember(byte[] tar, int n) {
        int at = 0;
        for (int i = 0; i < n; i++) {
            long size = Long.parseLong(new String(tar, at + 124, 11, StandardCharsets.US_ASCII).trim(), 8);
            at += 512 + (int) ((size + 511) / 512 * 512);
        }
        return at;
    }

    @Test
    void aParquetFileWithoutTheColumnsIsRefusedNamingItsColumns(@TempDir Path dir) throws IOException {
        String data = ShardFixtures.shards(dir, 8, ShardPaths.Format.PARQUET, 8);
        assertThatThrownBy(() -> Datasets.open(data, Datasets.Split.TRAIN, new ShardOptions("pixels", "", 10))).isInstanceOf(IOException.class)
                .hasMessageContaining("shard-000000.parquet has no column pixels").hasMessageContaining("image (BYTE_ARRAY), label (INT32), key (BYTE_ARRAY)");
        assertThatThrownBy(() -> Datasets.open(data, Datasets.Split.TRAIN, new ShardOptions("key", "image", 10))).isInstanceOf(IOException.class)
                .hasMessageContaining("the label column image is BYTE_ARRAY");
        ShardedImageSource unlabelled = Datasets.openShards(data, new ShardOptions("", "", 10));
        assertThat(unlabelled.numClasses()).isPositive();
        Path file = dir.resolve("shards/shard-000000.parquet");
        byte[] whole = Files.readAllBytes(file);
        Files.write(file, Arrays.copyOf(whole, whole.length - 100));
        assertThatThrownBy(() -> Datasets.open(data, Datasets.Split.TRAIN)).isInstanceOf(IOException.class)
                .hasMessageContaining("shard-000000.parquet is not a Parquet file");
    }

    @Test
    void anUnlabelledParquetTableIsRead(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("t.parquet");
        byte[] png = Files.readAllBytes(ShardFixtures.folder(dir.resolve("images"), 2).resolve("class9/img0.png"));
        try (OutputStream out = Files.newOutputStream(file)) {
            ParquetWriter w = new ParquetWriter(out, false);
            w.add("a", png, -1);
            w.add("b", png, -1);
            w.finish();
        }
        ShardedImageSource source = Datasets.openShards(file.toString(), ShardOptions.DEFAULT);
        assertThat(source.size()).isEqualTo(2);
        assertThat(source.numClasses()).isZero();
        assertThat(source.label(1)).isEqualTo(-1);
        assertThat(source.load(1).width()).isEqualTo(28);
    }

    @Test
    void bracesExpandAsWebdatasetWritesThem() {
        assertThat(ShardPaths.braces("s/train-{000008..000011}.tar"))
                .containsExactly("s/train-000008.tar", "s/train-000009.tar", "s/train-000010.tar", "s/train-000011.tar");
        assertThat(ShardPaths.braces("{a,b}-{0..1}.parquet")).containsExactly("a-0.parquet", "a-1.parquet", "b-0.parquet", "b-1.parquet");
        assertThatThrownBy(() -> ShardPaths.braces("x-{9..1}.tar")).hasMessageContaining("runs backwards");
        assertThatThrownBy(() -> ShardPaths.braces("x-{1..a}.tar")).hasMessageContaining("not a range of whole numbers");
    }

    @ParameterizedTest
    @EnumSource(ShardPaths.Format.class)
    void aStreamSplitOverRanksIsTheOneRankStreamAndResumesExactly(ShardPaths.Format format, @TempDir Path dir) throws IOException {
        String data = ShardFixtures.shards(dir, 40, format, 5);
        ShardedImageSource source = Datasets.openShards(data, new ShardOptions("", "", 8));
        int perEpoch = 40 / 8, epochs = 5;
        // One rank, batch 8, over 5 epochs (the stream keeps 3 epochs open: older ones are closed on the way).
        List<List<String>> one = stream(source, 0, 1, 8, perEpoch, 0, epochs * perEpoch);
        // Each epoch shows every sample once: 8 shards of 5 over 8 lanes, one shard a lane.
        for (int e = 0; e < epochs; e++) {
            List<String> epoch = one.subList(e * perEpoch, (e + 1) * perEpoch).stream().flatMap(List::stream).toList();
            assertThat(epoch).doesNotHaveDuplicates().hasSize(40);
        }
        assertThat(one.get(0)).isNotEqualTo(one.get(perEpoch));
        // Two ranks with batch 4 interleave into the one-rank batches; each rank reads its own shards only.
        Map<Integer, List<String>> shardsOfRank = new HashMap<>();
        for (int rank = 0; rank < 2; rank++) {
            List<List<String>> mine = stream(source, rank, 2, 4, perEpoch, 0, 2 * perEpoch);
            for (int b = 0; b < 2 * perEpoch; b++) {
                for (int i = 0; i < 4; i++) assertThat(mine.get(b).get(i)).isEqualTo(one.get(b).get(i * 2 + rank));
            }
            shardsOfRank.put(rank, mine.subList(0, perEpoch).stream().flatMap(List::stream).map(w -> w.split(":")[0]).toList());
        }
        assertThat(shardsOfRank.get(0)).doesNotContainAnyElementsOf(shardsOfRank.get(1));
        // Three ranks share the 8 lanes and still make the one-rank stream (global batch 6: 6 steps an epoch).
        List<List<String>> six = stream(source, 0, 1, 6, 40 / 6, 0, 8);
        for (int rank = 0; rank < 3; rank++) {
            List<List<String>> mine = stream(source, rank, 3, 2, 40 / 6, 0, 8);
            for (int b = 0; b < 8; b++) {
                for (int i = 0; i < 2; i++) assertThat(mine.get(b).get(i)).isEqualTo(six.get(b).get(i * 3 + rank));
            }
        }
        // Started at batch 7 (mid-epoch 1), the stream goes on as the uninterrupted one.
        assertThat(stream(source, 0, 1, 8, perEpoch, 7, 2 * perEpoch)).isEqualTo(one.subList(7, 2 * perEpoch));
    }

    /** The sample names of batches {@code from} to {@code to} of one rank's stream, started at {@code from}. */
    private static List<List<String>> stream(ShardedImageSource source, int rank, int world, int batch, int perEpoch, int from, int to)
            throws IOException {
        List<List<String>> out = new ArrayList<>();
        try (ShardStream s = new ShardStream(source, 7, rank, world, batch, perEpoch, from, 3)) {
            for (int b = from; b < to; b++) out.add(where(s.batch(b / perEpoch, b % perEpoch)));
        }
        return out;
    }

    private static List<String> where(List<ShardedImageSource.Sample> samples) {
        return samples.stream().map(ShardedImageSource.Sample::where).toList();
    }

    @Test
    void aMemberThatIsNoImageIsSkippedByTheLoaderWithItsName(@TempDir Path dir) throws IOException {
        byte[] png = Files.readAllBytes(ShardFixtures.folder(dir.resolve("images"), 1).resolve("class9/img0.png"));
        Path file = dir.resolve("bad.tar");
        try (OutputStream out = Files.newOutputStream(file)) {
            TarWriter tar = new TarWriter(out);
            for (int i = 0; i < 16; i++) tar.add(String.format("%03d.png", i), i == 5 ? "no png".getBytes(StandardCharsets.US_ASCII) : png);
            tar.finish();
        }
        ShardedImageSource source = Datasets.openShards(file.toString(), new ShardOptions("", "", 4));
        try (MultiCropLoader loader = MultiCropLoaderTest.loader(source, 2, 1)) {
            for (int i = 0; i < 2; i++) loader.next();
            assertThat(loader.skippedImages()).isEqualTo(1);
        }
        assertThatThrownBy(() -> source.load(5)).isInstanceOf(IOException.class).hasMessageContaining("bad.tar:005.png");
    }
}
