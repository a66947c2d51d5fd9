package org.ibot4j.trainer.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import javax.imageio.ImageIO;
import org.ibot4j.api.IbotConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MultiCropLoaderTest {
    static final IbotConfig CONFIG = IbotConfig.builder().imgSize(32).patchSize(4).embedDim(64).depth(1).numHeads(4)
            .outDim(64).patchOutDim(64).hiddenDim(64).bottleneckDim(32).build();

    static IdxDataset fashionTest() throws IOException {
        return IdxDataset.read(IdxDatasetTest.FASHION, "t10k");
    }

    static MultiCropLoader loader(ImageSource source, int workers, long seed) {
        return new MultiCropLoader(source, new MultiCropAugmentation(MultiCropAugmentation.Options.published(2, 32, 16)),
                MaskingPolicy.published(), CONFIG, 8, workers, 3, seed, 0);
    }

    @Test
    void sameSeedGivesIdenticalBatchesWithOneAndFourWorkers() throws IOException {
        IdxSource source = new IdxSource(fashionTest().head(64));
        List<byte[]> one = batches(source, 1), four = batches(source, 4);
        assertThat(one).hasSize(four.size());
        for (int i = 0; i < one.size(); i++) assertThat(four.get(i)).as("batch %d", i).isEqualTo(one.get(i));
        List<byte[]> otherSeed;
        try (MultiCropLoader l = loader(source, 2, 43)) {
            otherSeed = List.of(bytes(l.next().batch().globalCrops()));
        }
        assertThat(otherSeed.get(0)).isNotEqualTo(one.get(0));
    }

    private static List<byte[]> batches(ImageSource source, int workers) {
        List<byte[]> out = new ArrayList<>();
        try (MultiCropLoader l = loader(source, workers, 42)) {
            // 64 images / 8 = 8 batches per epoch: 10 batches cross into the second (reshuffled) epoch.
            for (int i = 0; i < 10; i++) {
                MultiCropLoader.Loaded b = l.next();
                assertThat(b.epoch()).isEqualTo(i / 8);
                out.add(bytes(b.batch().globalCrops()));
                out.add(bytes(b.batch().localCrops()));
                out.add(bytes(b.batch().masks()));
            }
        }
        return out;
    }

    private static byte[] bytes(MemorySegment s) {
        return s.toArray(ValueLayout.JAVA_BYTE);
    }

    @Test
    void corruptFilesAreSkippedCountedAndTheRunGoesOn(@TempDir Path root) throws IOException {
        IdxDataset data = fashionTest().head(24);
        for (int i = 0; i < data.size(); i++) {
            Path dir = Files.createDirectories(root.resolve("class" + data.labels()[i]));
            BufferedImage img = new BufferedImage(28, 28, BufferedImage.TYPE_BYTE_GRAY);
            img.getRaster().setDataElements(0, 0, 28, 28, data.images()[i]);
            ImageIO.write(img, i % 2 == 0 ? "png" : "jpg", dir.resolve("img" + i + (i % 2 == 0 ? ".png" : ".jpg")).toFile());
        }
        Path cls = root.resolve("class0");
        Files.createDirectories(cls);
        Files.writeString(cls.resolve("garbage.jpg"), "this is not a jpeg");
        Files.write(cls.resolve("empty.png"), new byte[0]);
        byte[] jpeg = Files.readAllBytes(Files.list(root.resolve("class" + data.labels()[1])).filter(p -> p.toString().endsWith(".jpg")).findFirst().orElseThrow());
        Files.write(cls.resolve("truncated.jpg"), Arrays.copyOf(jpeg, jpeg.length / 2));

        FileImageSource source = FileImageSource.folder(root);
        assertThat(source.size()).isEqualTo(27);
        try (MultiCropLoader l = loader(source, 2, 1)) {
            for (int i = 0; i < 2 * l.batchesPerEpoch(); i++) l.next();
            assertThat(l.skippedImages()).isEqualTo(3);
        }
    }

    @Test
    void aFolderWithoutReadableImagesIsAnErrorNamingIt(@TempDir Path root) throws IOException {
        assertThatThrownBy(() -> FileImageSource.folder(root)).isInstanceOf(IOException.class).hasMessageContaining(root.toString());
        for (int i = 0; i < 10; i++) Files.writeString(root.resolve("bad" + i + ".png"), "nope");
        FileImageSource source = FileImageSource.folder(root);
        try (MultiCropLoader l = loader(source, 1, 1)) {
            assertThatThrownBy(l::next).isInstanceOf(IllegalStateException.class).hasMessageContaining("no readable image")
                    .hasMessageContaining(root.toString());
        }
    }

    @Test
    void aWorkerFailureSurfacesInTheTrainingThreadAndCloseStopsEveryThread() throws IOException {
        IdxSource good = new IdxSource(fashionTest().head(32));
        ImageSource failing = new ImageSource() {
            @Override public int size() { return good.size(); }
            @Override public int label(int i) { return good.label(i); }
            @Override public int numClasses() { return 10; }
            @Override public String describe(int i) { return "item " + i; }
            @Override public RgbImage load(int i) { throw new IllegalArgumentException("decoder exploded on item " + i); }
        };
        try (MultiCropLoader l = loader(failing, 2, 1)) {
            assertThatThrownBy(l::next).isInstanceOf(IllegalStateException.class).hasMessageContaining("decoder exploded");
        }
        MultiCropLoader l = loader(good, 3, 1);
        l.next();
        l.close();
        assertThatThrownBy(l::next).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
        assertThat(Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().equals("ibot4j-loader") && t.isAlive()))
                .isEmpty();
    }

    @Test
    void masksAreEmptyBeforePredStartEpochAndBlocksRespectTheAspectRange() {
        MaskingPolicy late = new MaskingPolicy(BlockMaskGenerator.official(), MaskRatio.published(), 5);
        boolean[] mask = new boolean[196];
        SplittableRandom random = new SplittableRandom(9);
        for (int e = 0; e < 5; e++) {
            late.fill(mask, 14, e, random);
            for (boolean m : mask) assertThat(m).isFalse();
        }
        // With a target below one block's minimum area (16 cells) most masks are one rectangle (a second,
        // smaller block may follow while the count is short): a single rectangle's sides follow the aspect
        // range (0.3, 1/0.3) up to rounding each side to whole cells.
        BlockMaskGenerator gen = BlockMaskGenerator.official();
        int checked = 0;
        for (int i = 0; i < 2000; i++) {
            int count = gen.generate(mask, 14, 14, 12.0 / 196, random);
            if (count == 0) continue;
            int top = 14, bottom = -1, left = 14, right = -1;
            for (int y = 0; y < 14; y++) for (int x = 0; x < 14; x++) if (mask[y * 14 + x]) {
                top = Math.min(top, y); bottom = Math.max(bottom, y); left = Math.min(left, x); right = Math.max(right, x);
            }
            int h = bottom - top + 1, w = right - left + 1;
            if (h * w != count) continue;
            assertThat((h + 0.5) / Math.max(0.5, w - 0.5)).isGreaterThanOrEqualTo(0.3);
            assertThat((h - 0.5) / (w + 0.5)).isLessThanOrEqualTo(1 / 0.3);
            checked++;
        }
        assertThat(checked).isGreaterThan(1000);
    }
}
