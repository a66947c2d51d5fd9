package org.ibot4j.trainer.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.ibot4j.api.io.SafeTensors;
import org.ibot4j.trainer.data.FashionPngs;
import org.ibot4j.trainer.data.FileImageSource;
import org.ibot4j.trainer.data.ShardFixtures;
import org.ibot4j.trainer.data.ShardPaths;
import org.ibot4j.trainer.data.ShardWriter;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * embed's output: checked before any image is read (before, a bad --output failed after all the work,
 * 58-86 s for 20,000 images, naming a temporary file or nothing), every refusal naming the path the user
 * gave; file names that no line-based list survives; images that are no pictures skipped, as corrupt ones are.
 */
class EmbedOutputTest {
    @TempDir
    static Path dir;
    static Path checkpoint, images;

    @BeforeAll
    static void run() throws Exception {
        Path output = dir.resolve("run");
        CliTest.Result made = CliTest.run(DistributedTest.tiny(output, 8, 1).toArray(String[]::new));
        assertThat(made.code()).as(made.err()).isZero();
        checkpoint = output;
        images = FashionPngs.write(dir.resolve("images"), 3);
    }

    @Test
    void shardsEmbedAsTheirFolderDoesNamingShardAndMember() throws Exception {
        Path folder = ShardFixtures.folder(dir.resolve("shard-images"), 6);
        String data = ShardWriter.write(FileImageSource.folder(folder), ShardPaths.Format.WEBDATASET, 4, dir.resolve("shards")).data();
        Map<String, float[]> fromFolder = embedded(folder.toString(), dir.resolve("folder.safetensors"));
        Map<String, float[]> fromShards = embedded(data, dir.resolve("shards.safetensors"));
        assertThat(fromShards.keySet()).allMatch(name -> name.matches(".*/shards/shard-00000[01]\\.tar:class\\d/img\\d\\.(png|jpg)"));
        Map<String, float[]> byMember = new HashMap<>();
        fromShards.forEach((name, row) -> byMember.put(name.substring(name.indexOf(':') + 1), row));
        assertThat(byMember).hasSize(6);
        fromFolder.forEach((name, row) -> assertThat(byMember.get(folder.relativize(Path.of(name)).toString())).as(name).containsExactly(row));
    }

    /** embed's features of {@code images}, by the name it gives each. */
    private static Map<String, float[]> embedded(String images, Path out) throws IOException {
        CliTest.Result r = CliTest.run("embed", "--checkpoint", checkpoint.toString(), "--images", images, "--output", out.toString());
        assertThat(r.code()).as(r.err()).isZero();
        Map<String, float[]> rows = new HashMap<>();
        try (SafeTensors st = SafeTensors.open(out)) {
            List<?> files = new ObjectMapper().readValue(st.metadata().get("files"), List.class);
            float[] all = st.floats("features");
            int dim = all.length / files.size();
            for (int i = 0; i < files.size(); i++) rows.put(files.get(i).toString(), Arrays.copyOfRange(all, i * dim, (i + 1) * dim));
        }
        return rows;
    }

    @Test
    void aBadOutputIsRefusedBeforeAnyImageIsReadNamingTheUsersPath() throws Exception {
        Path file = Files.writeString(dir.resolve("a-file"), "x");
        Path folder = Files.createDirectories(dir.resolve("a-folder.npy"));
        String[][] cases = {
            {file.resolve("sub/f.npy").toString(), "is a regular file, not a folder"},
            {folder.toString(), "is a folder"},
            {"/proc/self/f.npy", "does not accept new files"},
        };
        for (String[] c : cases) {
            // An images folder that does not exist: reaching it would fail differently, so the output was checked first.
            CliTest.Result r = CliTest.run("embed", "--checkpoint", checkpoint.toString(), "--images", dir.resolve("missing").toString(),
                    "--output", c[0]);
            assertThat(r.code()).as(r.err()).isEqualTo(1);
            assertThat(r.err()).as(c[0]).contains(c[0]).contains(c[1]).doesNotContain(".tmp").doesNotContain("missing");
        }
    }

    @Test
    void aFileSystemWithoutRoomIsRefusedUpFront() throws Exception {
        Path small = Files.createDirectories(dir.resolve("small"));
        assumeTrue(new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", small.toString()).start().waitFor() == 0,
                "mounting a tmpfs needs root");
        try {
            Path many = FashionPngs.write(dir.resolve("many"), 200);
            Path out = small.resolve("f.safetensors");
            CliTest.Result r = CliTest.run("embed", "--checkpoint", checkpoint.toString(), "--images", many.toString(), "--output", out.toString());
            assertThat(r.code()).as(r.err()).isEqualTo(1);
            assertThat(r.err()).contains("cannot write " + out).contains("free").doesNotContain("embedded");
            try (Stream<Path> left = Files.list(small)) {
                assertThat(left.toList()).isEmpty();
            }
        } finally {
            new ProcessBuilder("umount", small.toString()).start().waitFor();
        }
    }

    @Test
    void fileNamesWithNewlinesSurviveAndStripsAreSkipped() throws Exception {
        Path odd = Files.createDirectories(dir.resolve("odd"));
        Files.copy(images.resolve("img0.png"), odd.resolve("a\nb.png"));
        Files.copy(images.resolve("img1.png"), odd.resolve("c.png"));
        ImageIO.write(new BufferedImage(1, 1_000_000, BufferedImage.TYPE_BYTE_GRAY), "png", odd.resolve("strip.png").toFile());
        Path npy = dir.resolve("out/odd.npy"), st = dir.resolve("out/odd.safetensors");
        for (Path out : List.of(npy, st)) {
            CliTest.Result r = CliTest.run("embed", "--checkpoint", checkpoint.toString(), "--images", odd.toString(), "--output", out.toString());
            assertThat(r.code()).as(r.err()).isZero();
        }
        ObjectMapper json = new ObjectMapper();
        List<String> lines = Files.readAllLines(dir.resolve("out/odd.npy.files.jsonl"));
        assertThat(lines).hasSize(2);
        assertThat(json.readValue(lines.get(0), String.class)).endsWith("a\nb.png");
        try (SafeTensors features = SafeTensors.open(st)) {
            assertThat(features.entry("features").shape()).containsExactly(2, 32);
            assertThat(json.readValue(features.metadata().get("files"), List.class)).hasSize(2);
        }
    }
}
