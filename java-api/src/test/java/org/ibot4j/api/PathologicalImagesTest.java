package org.ibot4j.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import javax.imageio.ImageIO;
import org.ibot4j.api.image.BicubicResize;
import org.ibot4j.api.image.EvalTransform;
import org.ibot4j.api.image.ImageReading;
import org.ibot4j.api.image.Pixels;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Images that are valid files but no pictures: a 1 x 1,000,000 strip (2 KB as PNG) made the Encoder
 * allocate 6.2 GB and die of OutOfMemoryError; a 50,000 x 1 one overflowed an int in the resize
 * (NegativeArraySizeException); a CMYK JPEG came out in ImageIO's colours while the trainer refused it.
 */
class PathologicalImagesTest {
    @TempDir
    static Path dir;
    static Path checkpoint;

    @BeforeAll
    static void model() throws IOException {
        IbotConfig config = TinyModels.config(3);
        try (IbotModel model = IbotModel.create(config)) {
            checkpoint = dir.resolve("ckpt-00000000.ibot4j");
            model.save(checkpoint, "");
        }
    }

    @Test
    void stripsAreRefusedFromTheirHeaderNamingTheFile() throws IOException {
        Path tall = png(dir.resolve("tall.png"), 1, 1_000_000), wide = png(dir.resolve("wide.png"), 50_000, 1);
        assertThat(Files.size(tall)).isLessThan(50_000);
        try (Encoder encoder = Encoder.open(checkpoint, Encoder.Options.defaults().threads(1))) {
            for (Path strip : List.of(tall, wide)) {
                assertThatThrownBy(() -> encoder.embedFiles(List.of(strip))).isInstanceOf(IOException.class)
                        .hasMessageContaining(strip.toString()).hasMessageContaining("one side is more than 100 times the other");
            }
        }
    }

    @Test
    void anExtremeImageInMemoryIsEmbeddedInBoundedMemory() {
        // No header to refuse here: the caller decoded it. Only the centre window is resized.
        BufferedImage strip = new BufferedImage(1, 2_000_000, BufferedImage.TYPE_BYTE_GRAY);
        try (Encoder encoder = Encoder.open(checkpoint, Encoder.Options.defaults().threads(1))) {
            float[][] features = encoder.embed(List.of(strip));
            assertThat(features[0]).hasSize(64);
            for (float v : features[0]) assertThat(Float.isFinite(v)).isTrue();
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void theCentreWindowEqualsResizingWholeThenCropping() {
        SplittableRandom random = new SplittableRandom(5);
        int[][] cases = {{37, 23, 64, 40}, {200, 90, 71, 32}, {28, 28, 32, 32}, {13, 300, 16, 369}};
        for (int[] c : cases) {
            int w = c[0], h = c[1], ow = c[2], oh = c[3];
            float[][] planes = new float[3][w * h];
            for (float[] p : planes) for (int i = 0; i < p.length; i++) p[i] = (float) random.nextDouble();
            float[][] whole = BicubicResize.resize(planes, w, h, ow, oh);
            int cw = Math.min(ow, oh), left = (ow - cw) / 2, top = (oh - cw) / 2;
            float[][] window = BicubicResize.resizeCrop(planes, w, h, ow, oh, left, top, cw, cw);
            for (int ch = 0; ch < 3; ch++) {
                for (int y = 0; y < cw; y++) {
                    for (int x = 0; x < cw; x++) {
                        assertThat(window[ch][y * cw + x]).as("case %dx%d->%dx%d at %d,%d", w, h, ow, oh, x, y)
                                .isEqualTo(whole[ch][(top + y) * ow + left + x]);
                    }
                }
            }
        }
    }

    @Test
    void evalViewOfAnOrdinaryImageIsUnchanged() {
        // The window path must give the old whole-resize-then-crop pixels for every image, not only strips.
        SplittableRandom random = new SplittableRandom(9);
        float[] grey = new float[45 * 30];
        for (int i = 0; i < grey.length; i++) grey[i] = (float) random.nextDouble();
        Pixels image = new Pixels(45, 30, new float[][] {grey, grey, grey});
        EvalTransform t = EvalTransform.imageNet(32);
        float[][] whole = BicubicResize.resize(image.planes(), 45, 30, 48, 32);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.JAVA_FLOAT, t.floatsPerImage());
            t.write(image, out, 0);
            for (int y = 0; y < 32; y++) {
                for (int x = 0; x < 32; x++) {
                    float expected = (whole[1][y * 48 + 8 + x] - t.mean()[1]) / t.std()[1];
                    assertThat(out.getAtIndex(ValueLayout.JAVA_FLOAT, 32L * 32 + y * 32 + x)).isEqualTo(expected);
                }
            }
        }
    }

    @Test
    void cmykJpegsAreRefusedOnTheEncodersPathAsTheTrainerRefusesThem() throws IOException {
        // cmyk.jpg: 16 x 16 random colours, PIL's Image.convert("CMYK").save(quality=90).
        Path cmyk = dir.resolve("cmyk.jpg");
        try (var in = PathologicalImagesTest.class.getResourceAsStream("/fixtures/images/cmyk.jpg")) {
            Files.write(cmyk, in.readAllBytes());
        }
        assertThatThrownBy(() -> ImageReading.decode(cmyk)).isInstanceOf(IOException.class)
                .hasMessageContaining(cmyk.toString()).hasMessageContaining(ImageReading.CMYK_REFUSED);
        try (Encoder encoder = Encoder.open(checkpoint, Encoder.Options.defaults().threads(1))) {
            assertThatThrownBy(() -> encoder.embedEncoded(List.of(Files.readAllBytes(cmyk)))).hasMessageContaining("CMYK");
        }
        // An RGB JPEG still decodes.
        BufferedImage rgb = new BufferedImage(8, 8, BufferedImage.TYPE_INT_RGB);
        rgb.setRGB(3, 3, 0xff8040);
        Path jpeg = dir.resolve("rgb.jpg");
        ImageIO.write(rgb, "jpg", jpeg.toFile());
        assertThat(ImageReading.decode(jpeg).width()).isEqualTo(8);
    }

    /** A grey PNG of the given size, all black: a few KB however large. */
    private static Path png(Path file, int width, int height) throws IOException {
        ImageIO.write(new BufferedImage(width, height, BufferedImage.TYPE_BYTE_GRAY), "png", file.toFile());
        return file;
    }
}
