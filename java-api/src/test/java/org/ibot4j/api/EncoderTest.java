package org.ibot4j.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.zip.GZIPInputStream;
import javax.imageio.ImageIO;
import org.ibot4j.api.image.EvalTransform;
import org.ibot4j.api.image.ImageReading;
import org.ibot4j.api.io.WeightExchange;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Encoder on real Fashion-MNIST test images, against the training model's own forward pass. */
class EncoderTest {
    static final int IMAGES = 200;
    @TempDir
    static Path dir;
    static Path checkpoint;
    static List<BufferedImage> images;

    @BeforeAll
    static void trainedCheckpoint() throws IOException {
        checkpoint = TinyModels.trainedCheckpoint(dir.resolve("run/checkpoints/ckpt-00000002.ibot4j"), 5, 2, TinyModels.FASHION_NORMALISATION);
        images = fashionTest(IMAGES);
    }

    @Test
    void eightThreadsGiveTheOneThreadFeaturesToTheBit() throws Exception {
        try (Encoder encoder = Encoder.open(checkpoint, Encoder.Options.defaults().threads(1).batchSize(32))) {
            float[][] alone = encoder.embed(images);
            ExecutorService pool = Executors.newFixedThreadPool(8);
            try {
                List<Future<float[][]>> runs = new ArrayList<>();
                for (int t = 0; t < 8; t++) runs.add(pool.submit(() -> encoder.embed(images)));
                for (Future<float[][]> run : runs) {
                    float[][] got = run.get();
                    for (int i = 0; i < IMAGES; i++) assertThat(got[i]).as("image %d", i).containsExactly(alone[i]);
                }
            } finally {
                pool.shutdown();
            }
        }
    }

    @Test
    void featuresAreTheTrainingModelsEmbedOfTheEvaluationView() throws IOException {
        try (Encoder encoder = Encoder.open(checkpoint, Encoder.Options.defaults().threads(2));
                IbotModel model = IbotModel.open(checkpoint, 2); Arena arena = Arena.ofConfined()) {
            assertThat(encoder.dim()).isEqualTo(64);
            assertThat(encoder.imageSize()).isEqualTo(32);
            assertThat(encoder.transform().mean()).containsExactly(0.286f, 0.286f, 0.286f);
            List<BufferedImage> some = images.subList(0, 16);
            EvalTransform t = encoder.transform();
            MemorySegment pixels = arena.allocate(ValueLayout.JAVA_FLOAT, 16 * t.floatsPerImage());
            for (int i = 0; i < 16; i++) t.write(ImageReading.pixels(some.get(i)), pixels, i * t.floatsPerImage());
            float[][] expected = model.embedCls(Network.TEACHER, pixels, 16, 32, 32);
            float[][] got = encoder.embed(some);
            for (int i = 0; i < 16; i++) assertThat(got[i]).containsExactly(expected[i]);

            // With the patch tokens both run every token through the last block (without, only the CLS: the test above).
            MemorySegment patches = arena.allocate(ValueLayout.JAVA_FLOAT, 16L * 64 * 64), cls = arena.allocate(ValueLayout.JAVA_FLOAT, 16L * 64);
            model.embed(Network.TEACHER, pixels, 16, 32, 32, MemorySegment.NULL, cls, patches);
            Encoder.Tokens tokens = encoder.tokens(some);
            assertThat(tokens.patches()[3]).hasNumberOfRows(64);
            assertThat(tokens.cls()[3]).containsExactly(cls.asSlice(3L * 64 * 4, 64 * 4).toArray(ValueLayout.JAVA_FLOAT));
            assertThat(tokens.patches()[3][10]).containsExactly(patches.asSlice((3L * 64 + 10) * 64 * 4, 64 * 4).toArray(ValueLayout.JAVA_FLOAT));

            // The student too, and a run folder stands for its newest checkpoint.
            float[][] student = model.embedCls(Network.STUDENT, pixels, 16, 32, 32);
            try (Encoder fromFolder = Encoder.open(dir.resolve("run"), Encoder.Options.defaults().network(Network.STUDENT).threads(2))) {
                assertThat(fromFolder.embed(some)[5]).containsExactly(student[5]);
            }
        }
    }

    @Test
    void encodedBytesFilesAndTimmWeightsGiveTheSameFeatures() throws IOException {
        Path pth = dir.resolve("teacher.pth"), st = dir.resolve("teacher.safetensors");
        try (IbotModel model = IbotModel.open(checkpoint, 2)) {
            WeightExchange.export(model, Network.TEACHER, WeightExchange.Format.PTH, pth);
            WeightExchange.export(model, Network.TEACHER, WeightExchange.Format.SAFETENSORS, st);
        }
        List<BufferedImage> some = images.subList(0, 8);
        List<byte[]> pngs = new ArrayList<>();
        List<Path> files = new ArrayList<>();
        for (int i = 0; i < some.size(); i++) {
            ByteArrayOutputStream png = new ByteArrayOutputStream();
            ImageIO.write(some.get(i), "png", png);
            pngs.add(png.toByteArray());
            files.add(Files.write(dir.resolve("img" + i + ".png"), png.toByteArray()));
        }
        try (Encoder encoder = Encoder.open(checkpoint, Encoder.Options.defaults().threads(2))) {
            float[][] expected = encoder.embed(some);
            // PNG keeps 8-bit pixels exactly.
            assertThat(encoder.embedEncoded(pngs)).isDeepEqualTo(expected);
            assertThat(encoder.embedFiles(files)).isDeepEqualTo(expected);
        }
        // timm-named files carry no normalisation: ImageNet's, and the checkpoint's weights.
        for (Path file : List.of(pth, st)) {
            try (Encoder timm = Encoder.open(file, Encoder.Options.defaults().threads(2).numHeads(4));
                    Encoder ckpt = Encoder.open(checkpoint, Encoder.Options.defaults().threads(2));
                    Arena arena = Arena.ofConfined()) {
                assertThat(timm.transform().mean()).containsExactly(0.485f, 0.456f, 0.406f);
                EvalTransform t = timm.transform();
                MemorySegment pixels = arena.allocate(ValueLayout.JAVA_FLOAT, 8 * t.floatsPerImage());
                for (int i = 0; i < 8; i++) t.write(ImageReading.pixels(some.get(i)), pixels, i * t.floatsPerImage());
                MemorySegment a = arena.allocate(ValueLayout.JAVA_FLOAT, 8 * 64), b = arena.allocate(ValueLayout.JAVA_FLOAT, 8 * 64);
                timm.forward(pixels, 8, 32, 32, a, MemorySegment.NULL);
                ckpt.forward(pixels, 8, 32, 32, b, MemorySegment.NULL);
                assertThat(a.toArray(ValueLayout.JAVA_FLOAT)).containsExactly(b.toArray(ValueLayout.JAVA_FLOAT));
            }
        }
    }

    @Test
    void otherImageSizesInterpolateThePositionsAsTheTrainingModelDoes() throws IOException {
        try (Encoder encoder = Encoder.open(checkpoint, Encoder.Options.defaults().threads(2).imageSize(48));
                IbotModel model = IbotModel.open(checkpoint, 2); Arena arena = Arena.ofConfined()) {
            EvalTransform t = encoder.transform();
            MemorySegment pixels = arena.allocate(ValueLayout.JAVA_FLOAT, 4 * t.floatsPerImage());
            for (int i = 0; i < 4; i++) t.write(ImageReading.pixels(images.get(i)), pixels, i * t.floatsPerImage());
            float[][] expected = model.embedCls(Network.TEACHER, pixels, 4, 48, 48);
            assertThat(encoder.embed(images.subList(0, 4))).isDeepEqualTo(expected);
        }
    }

    @Test
    void bf16FeaturesStayCloseToFp32() throws IOException {
        Assumptions.assumeTrue(NativeLibrary.load().cpuNativeBf16(), "this CPU has no native bf16");
        try (Encoder fp32 = Encoder.open(checkpoint, Encoder.Options.defaults().threads(2));
                Encoder bf16 = Encoder.open(checkpoint, Encoder.Options.defaults().threads(2).bf16(true))) {
            float[][] a = fp32.embed(images.subList(0, 32)), b = bf16.embed(images.subList(0, 32));
            for (int i = 0; i < 32; i++) {
                // bf16 keeps 8 bits of mantissa (relative 2^-8 per product); after a LayerNorm the CLS
                // direction must stay: cosine similarity above 0.99.
                assertThat(cosine(a[i], b[i])).as("image %d", i).isGreaterThan(0.99);
                assertThat(b[i]).isNotEqualTo(a[i]);
            }
        }
    }

    @Test
    void theClsAloneIsTheWholeForwardsCls() throws IOException {
        // Asked for the CLS alone, the last block computes only the CLS token's output (its query against every
        // token's key and value, then projection, MLP and norm on one row): the same function, its matrix
        // products over fewer rows. Their rounding may differ (fp32 1.9e-7 of the scale on this test's images, 2026-12-07;
        // bf16 0): held to the parity bound of FoundationParityTest, 1e-5.
        List<Boolean> precisions = NativeLibrary.load().cpuNativeBf16() ? List.of(false, true) : List.of(false);
        for (boolean bf16 : precisions) {
            try (Encoder encoder = Encoder.open(checkpoint, Encoder.Options.defaults().threads(2).bf16(bf16)); Arena arena = Arena.ofConfined()) {
                EvalTransform t = encoder.transform();
                int n = 16, d = encoder.dim();
                MemorySegment pixels = arena.allocate(ValueLayout.JAVA_FLOAT, n * t.floatsPerImage());
                for (int i = 0; i < n; i++) t.write(ImageReading.pixels(images.get(i)), pixels, i * t.floatsPerImage());
                MemorySegment alone = arena.allocate(ValueLayout.JAVA_FLOAT, (long) n * d), whole = arena.allocate(ValueLayout.JAVA_FLOAT, (long) n * d);
                encoder.forward(pixels, n, 32, 32, alone, MemorySegment.NULL);
                encoder.forward(pixels, n, 32, 32, whole, arena.allocate(ValueLayout.JAVA_FLOAT, (long) n * encoder.patchCount() * d));
                double e = ParityTest.error(alone.toArray(ValueLayout.JAVA_FLOAT), whole.toArray(ValueLayout.JAVA_FLOAT));
                System.out.printf("CLS alone vs whole forward, %s: %.2e%n", bf16 ? "bf16" : "fp32", e);
                assertThat(e).as(bf16 ? "bf16" : "fp32").isLessThanOrEqualTo(1e-5);
            }
        }
    }

    @Test
    void bf16WeightsAreTheSameHoweverTheyAreLoaded() throws IOException {
        // With bf16 the encoder keeps a bf16 copy of its matrix-product weights (autocast's casts, made once:
        // bit-identical to autocast over the fp32 weights, checked in PyTorch, docs/benchmarks.md). A checkpoint
        // fills it at once, a timm-named file tensor by tensor: both must reach it, to the bit.
        Assumptions.assumeTrue(NativeLibrary.load().cpuNativeBf16(), "this CPU has no native bf16");
        Path st = dir.resolve("teacher-bf16.safetensors");
        try (IbotModel fp32 = IbotModel.open(checkpoint, 2)) {
            WeightExchange.export(fp32, Network.TEACHER, WeightExchange.Format.SAFETENSORS, st);
        }
        try (Encoder ckpt = Encoder.open(checkpoint, Encoder.Options.defaults().threads(2).bf16(true));
                Encoder timm = Encoder.open(st, Encoder.Options.defaults().threads(2).numHeads(4).bf16(true));
                Encoder fp32 = Encoder.open(checkpoint, Encoder.Options.defaults().threads(2));
                Arena arena = Arena.ofConfined()) {
            EvalTransform t = ckpt.transform();
            MemorySegment pixels = arena.allocate(ValueLayout.JAVA_FLOAT, 8 * t.floatsPerImage());
            for (int i = 0; i < 8; i++) t.write(ImageReading.pixels(images.get(i)), pixels, i * t.floatsPerImage());
            MemorySegment a = arena.allocate(ValueLayout.JAVA_FLOAT, 8 * 64), b = arena.allocate(ValueLayout.JAVA_FLOAT, 8 * 64);
            MemorySegment c = arena.allocate(ValueLayout.JAVA_FLOAT, 8 * 64);
            ckpt.forward(pixels, 8, 32, 32, a, MemorySegment.NULL);
            timm.forward(pixels, 8, 32, 32, b, MemorySegment.NULL);
            fp32.forward(pixels, 8, 32, 32, c, MemorySegment.NULL);
            assertThat(b.toArray(ValueLayout.JAVA_FLOAT)).containsExactly(a.toArray(ValueLayout.JAVA_FLOAT));
            assertThat(a.toArray(ValueLayout.JAVA_FLOAT)).isNotEqualTo(c.toArray(ValueLayout.JAVA_FLOAT));  // bf16 did run
        }
    }

    @Test
    void badInputsAreRefusedInWords() throws IOException {
        assertThatThrownBy(() -> Encoder.open(dir.resolve("nothing-here.pth")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("does not exist");
        Path text = Files.writeString(dir.resolve("notes.txt"), "not weights");
        assertThatThrownBy(() -> Encoder.open(text)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("is not an ibot4j checkpoint, a PyTorch .pth or a .safetensors file");
        Path empty = Files.createDirectories(dir.resolve("empty-run"));
        assertThatThrownBy(() -> Encoder.open(empty)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("without a readable checkpoint");
        assertThatThrownBy(() -> Encoder.open(checkpoint, Encoder.Options.defaults().imageSize(30)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not a multiple of the patch size 4");
        try (Encoder encoder = Encoder.open(checkpoint, Encoder.Options.defaults().threads(2)); Arena arena = Arena.ofConfined()) {
            assertThatThrownBy(() -> encoder.embed(List.of())).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no images");
            assertThatThrownBy(() -> encoder.embedEncoded(List.of(new byte[] {(byte) 0x89, 'P', 'N', 'G', 1, 2})))
                    .isInstanceOf(IOException.class).hasMessageStartingWith("image 0:");
            MemorySegment short_ = arena.allocate(ValueLayout.JAVA_FLOAT, 10);
            assertThatThrownBy(() -> encoder.forward(short_, 1, 32, 32, MemorySegment.NULL, MemorySegment.NULL))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("images holds 40 bytes but its shape needs 12288");
            assertThatThrownBy(() -> encoder.forward(arena.allocate(ValueLayout.JAVA_FLOAT, 3 * 30 * 30), 1, 30, 30, MemorySegment.NULL,
                    MemorySegment.NULL)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("4-pixel patches");
            encoder.close();
            encoder.close();
            assertThatThrownBy(() -> encoder.embed(images.subList(0, 1))).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("closed");
        }
        // Another architecture's weights for a checkpoint's config: the native side names both.
        IbotConfig deeper = TinyModels.config(1).toBuilder().depth(3).build();
        try (IbotModel other = IbotModel.create(deeper)) {
            Path file = dir.resolve("deeper.pth");
            WeightExchange.export(other, Network.TEACHER, WeightExchange.Format.PTH, file);
            try (Encoder e = Encoder.open(file, Encoder.Options.defaults().numHeads(4).threads(2))) {
                assertThat(e.config().depth()).isEqualTo(3);
            }
        }
    }

    static double cosine(float[] a, float[] b) {
        double ab = 0, aa = 0, bb = 0;
        for (int i = 0; i < a.length; i++) {
            ab += (double) a[i] * b[i];
            aa += (double) a[i] * a[i];
            bb += (double) b[i] * b[i];
        }
        return ab / Math.sqrt(aa * bb);
    }

    /** The first {@code count} Fashion-MNIST test images as 8-bit grey images. */
    static List<BufferedImage> fashionTest(int count) throws IOException {
        Path file = FashionMnistSample.DIR.resolve("t10k-images-idx3-ubyte.gz");
        try (InputStream raw = Files.newInputStream(file); DataInputStream in = new DataInputStream(new GZIPInputStream(raw, 1 << 16))) {
            if (in.readInt() != 0x803) throw new IOException("not an IDX image file: " + file);
            in.readInt();
            int rows = in.readInt(), cols = in.readInt();
            List<BufferedImage> out = new ArrayList<>();
            byte[] pixels = new byte[rows * cols];
            for (int i = 0; i < count; i++) {
                in.readFully(pixels);
                BufferedImage image = new BufferedImage(cols, rows, BufferedImage.TYPE_BYTE_GRAY);
                image.getRaster().setDataElements(0, 0, cols, rows, pixels);
                out.add(image);
            }
            return out;
        }
    }
}
