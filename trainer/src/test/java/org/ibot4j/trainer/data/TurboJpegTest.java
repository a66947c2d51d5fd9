package org.ibot4j.trainer.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * libjpeg-turbo against ImageIO on the same files: pixels, DCT-scaled decodes, the loader's crops and
 * masks, damaged files, and the fallback when the library is missing or disabled. The comparisons are
 * skipped where libturbojpeg0 is not installed.
 */
class TurboJpegTest {
    @TempDir
    Path dir;

    /** A colour JPEG (4:2:0, ImageIO's default quality) of a real Fashion-MNIST image with colour gradients over it. */
    private Path colourJpeg(String name, int index, int size) throws IOException {
        byte[] grey = MultiCropLoaderTest.fashionTest().images()[index];
        RgbImage big = Augment.resizeBicubic(RgbImage.fromGrey(grey, 28, 28), size, size);
        BufferedImage img = new BufferedImage(size, size, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < size; y++) {
            for (int x = 0; x < size; x++) {
                float v = big.get(0, x, y);
                int r = Math.round(255 * v), g = Math.round(255 * (0.3f + 0.7f * v) * x / size), b = Math.round(255 * (1 - v) * y / size);
                img.setRGB(x, y, (r << 16) | (g << 8) | b);
            }
        }
        Path file = dir.resolve(name);
        assertThat(ImageIO.write(img, "jpg", file.toFile())).isTrue();
        return file;
    }

    private static double meanAbsDiff(RgbImage a, RgbImage b) {
        double sum = 0;
        for (int c = 0; c < 3; c++) for (int i = 0; i < a.planes()[c].length; i++) sum += Math.abs(a.planes()[c][i] - b.planes()[c][i]);
        return sum / (3.0 * a.width() * a.height());
    }

    @Test
    void fullSizeDecodeEqualsImageIoWithinIdctRounding() throws IOException {
        assumeTrue(TurboJpeg.usable(), "libturbojpeg0 is not installed");
        Path file = colourJpeg("colour.jpg", 0, 200);
        RgbImage turbo = ImageDecoder.open(file).decode(1), imageIo = ImageDecoder.decodeWithImageIo(file);
        assertThat(turbo.width()).isEqualTo(200);
        assertThat(turbo.height()).isEqualTo(200);
        double max = 0;
        for (int c = 0; c < 3; c++) for (int i = 0; i < turbo.planes()[c].length; i++) max = Math.max(max, Math.abs(turbo.planes()[c][i] - imageIo.planes()[c][i]));
        // Both use libjpeg's accurate integer IDCT and smooth chroma upsampling: with libjpeg-turbo 2.1.5
        // and the JDK's decoder the pixels are identical here (difference 0). The bounds leave room for
        // other versions' rounding in the colour conversion and upsampling.
        assertThat(meanAbsDiff(turbo, imageIo)).as("mean |turbo - ImageIO|").isLessThan(0.5 / 255);
        assertThat(max).as("max |turbo - ImageIO|").isLessThanOrEqualTo(8 / 255.0);
    }

    @Test
    void aGreyPictureStoredInColourDecodesToOneSharedPlane() throws IOException {
        assumeTrue(TurboJpeg.usable(), "libturbojpeg0 is not installed");
        byte[] grey = MultiCropLoaderTest.fashionTest().images()[5];
        BufferedImage img = new BufferedImage(28, 28, BufferedImage.TYPE_INT_RGB);
        for (int i = 0; i < grey.length; i++) img.setRGB(i % 28, i / 28, (grey[i] & 0xff) * 0x010101);
        Path file = dir.resolve("grey-in-rgb.jpg");
        ImageIO.write(img, "jpg", file.toFile());
        RgbImage turbo = ImageDecoder.open(file).decode(1), imageIo = ImageDecoder.decodeWithImageIo(file);
        // Neutral chroma decodes to R = G = B exactly: the crops of such an image are computed on one plane.
        assertThat(turbo.sharedGrey()).isTrue();
        for (int c = 0; c < 3; c++) assertThat(turbo.planes()[c]).containsExactly(imageIo.planes()[c]);
    }

    @Test
    void dctScaledDecodesAreTheFullDecodeAveragedOverBlocks() throws IOException {
        assumeTrue(TurboJpeg.usable(), "libturbojpeg0 is not installed");
        Path file = colourJpeg("scaled.jpg", 1, 203);  // not a multiple of 8: the sides round up
        EncodedImage encoded = ImageDecoder.open(file);
        assertThat(encoded.scalable()).isTrue();
        RgbImage full = encoded.decode(1);
        for (int d : new int[] {2, 4, 8}) {
            RgbImage scaled = encoded.decode(d);
            assertThat(scaled.width()).isEqualTo((203 + d - 1) / d);
            RgbImage reference = RgbImage.blank(scaled.width(), scaled.height());
            for (int c = 0; c < 3; c++) {
                for (int y = 0; y < scaled.height(); y++) {
                    for (int x = 0; x < scaled.width(); x++) {
                        double s = 0;
                        int n = 0;
                        for (int yy = y * d; yy < Math.min(203, y * d + d); yy++) for (int xx = x * d; xx < Math.min(203, x * d + d); xx++, n++) s += full.get(c, xx, yy);
                        reference.planes()[c][y * scaled.width() + x] = (float) (s / n);
                    }
                }
            }
            // The scaled IDCT keeps the low frequencies of each block: close to the block mean, not equal
            // (measured 0.0032 to 0.0037, about one grey level).
            assertThat(meanAbsDiff(scaled, reference)).as("1/%d decode vs block means", d).isLessThan(0.01);
        }
        assertThatThrownBy(() -> encoded.decode(3)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void theLoaderDrawsTheSameCropsAndMasksWithEitherDecoder() throws IOException {
        assumeTrue(TurboJpeg.usable(), "libturbojpeg0 is not installed");
        for (int i = 0; i < 16; i++) colourJpeg(String.format("%02d.jpg", i), i, 64);
        FileImageSource turbo = FileImageSource.folder(dir), imageIo = turbo.withJpegsDecodedByImageIo();
        try (MultiCropLoader a = MultiCropLoaderTest.loader(turbo, 1, 7); MultiCropLoader b = MultiCropLoaderTest.loader(imageIo, 2, 7)) {
            for (int k = 0; k < 3; k++) {
                var x = a.next().batch();
                var y = b.next().batch();
                assertThat(x.masks().toArray(ValueLayout.JAVA_BYTE)).isEqualTo(y.masks().toArray(ValueLayout.JAVA_BYTE));
                for (MemorySegment[] pair : new MemorySegment[][] {{x.globalCrops(), y.globalCrops()}, {x.localCrops(), y.localCrops()}}) {
                    float[] p = pair[0].toArray(ValueLayout.JAVA_FLOAT), q = pair[1].toArray(ValueLayout.JAVA_FLOAT);
                    double sum = 0;
                    for (int i = 0; i < p.length; i++) sum += Math.abs(p[i] - q[i]);
                    // Same boxes and parameters; only decoder rounding could differ (measured: none). Another box would differ by ~1.
                    assertThat(sum / p.length).as("mean |turbo - ImageIO| of batch %d, normalised units", k).isLessThan(0.01);
                }
            }
        }
    }

    @Test
    void aDecodeAtTheDenominatorTheCropsAllowRendersNearlyTheFullDecode() throws IOException {
        assumeTrue(TurboJpeg.usable(), "libturbojpeg0 is not installed");
        EncodedImage encoded = ImageDecoder.open(colourJpeg("big.jpg", 2, 512));
        MultiCropAugmentation aug = new MultiCropAugmentation(MultiCropAugmentation.Options.published(4, 64, 24));
        SplittableRandom random = new SplittableRandom(3);
        List<CropPlan> plans = new ArrayList<>();
        for (int c = 0; c < 2; c++) plans.add(aug.planGlobal(512, 512, c, random));
        for (int c = 0; c < 4; c++) plans.add(aug.planLocal(512, 512, random));
        int d = MultiCropAugmentation.decodeDenominator(plans);
        // Global boxes are at least ~220 px for 64 px crops, local ones ~100 px for 24 px: 1/2 fits all, 1/8 cannot.
        assertThat(d).isBetween(2, 4);
        for (CropPlan p : plans) assertThat(p.fitsAt(d)).isTrue();
        RgbImage full = encoded.decode(1), reduced = encoded.decode(d);
        for (CropPlan p : plans) {
            float[] want = CropRendererTest.fast(full, 1, p, aug), got = CropRendererTest.fast(reduced, d, p, aug);
            double sum = 0;
            for (int i = 0; i < want.length; i++) sum += Math.abs(want[i] - got[i]);
            // Measured 0.002 to 0.006 in normalised units (under 1/255 of the [0, 1] range times 1/std).
            assertThat(sum / want.length).as("crop %s from the 1/%d decode", p, d).isLessThan(0.02);
        }
    }

    @Test
    void damagedJpegsFailWithTheFileNamed() throws IOException {
        assumeTrue(TurboJpeg.usable(), "libturbojpeg0 is not installed");
        byte[] good = Files.readAllBytes(colourJpeg("good.jpg", 3, 64));
        Path truncated = Files.write(dir.resolve("truncated.jpg"), Arrays.copyOf(good, good.length / 2));
        Path garbage = Files.write(dir.resolve("garbage.jpg"), new byte[] {(byte) 0xFF, (byte) 0xD8, (byte) 0xFF, 1, 2, 3, 4, 5});
        // The header of a truncated file is intact: it fails when its pixels are decoded (as the loader does).
        assertThatThrownBy(() -> ImageDecoder.open(truncated).decode(1)).isInstanceOf(IOException.class)
                .hasMessageContaining(truncated.toString()).hasMessageContaining("damaged JPEG");
        assertThatThrownBy(() -> ImageDecoder.open(garbage)).isInstanceOf(IOException.class)
                .hasMessageContaining(garbage.toString()).hasMessageContaining("header");
    }

    @Test
    void aHeaderDeclaringTooManyPixelsIsRefusedBeforeDecoding() throws IOException {
        assumeTrue(TurboJpeg.usable(), "libturbojpeg0 is not installed");
        byte[] jpeg = Files.readAllBytes(colourJpeg("small.jpg", 6, 32));
        int sof = 2;
        while (!((jpeg[sof] & 0xff) == 0xFF && (jpeg[sof + 1] & 0xff) == 0xC0)) sof++;
        // SOF0: marker, length (2), precision (1), height (2), width (2): declare 60000 x 60000.
        for (int k : new int[] {sof + 5, sof + 7}) {
            jpeg[k] = (byte) 0xEA;
            jpeg[k + 1] = (byte) 0x60;
        }
        Path bomb = Files.write(dir.resolve("bomb.jpg"), jpeg);
        assertThatThrownBy(() -> ImageDecoder.open(bomb)).isInstanceOf(IOException.class)
                .hasMessageContaining("60000 x 60000").hasMessageContaining("decompression bomb");
    }

    @Test
    void mutatedJpegsDecodeOrFailWithAnIoException() throws IOException {
        assumeTrue(TurboJpeg.usable(), "libturbojpeg0 is not installed");
        byte[] good = Files.readAllBytes(colourJpeg("fuzz.jpg", 7, 40));
        SplittableRandom random = new SplittableRandom(17);
        int failed = 0;
        for (int i = 0; i < 300; i++) {
            byte[] bad = i % 3 == 0 ? Arrays.copyOf(good, 3 + random.nextInt(good.length - 3)) : good.clone();
            for (int k = 0; k < 1 + random.nextInt(8) && i % 3 != 0; k++) bad[2 + random.nextInt(bad.length - 2)] = (byte) random.nextInt(256);
            Path file = Files.write(dir.resolve("mutant.jpg"), bad);
            try {
                EncodedImage image = ImageDecoder.open(file);
                image.decode(1 << random.nextInt(4));
            } catch (IOException expected) {
                failed++;
            }
        }
        assertThat(failed).as("damaged files refused").isGreaterThan(100);
    }

    @Test
    void aMissingOrDisabledLibraryFallsBackToImageIoWithTheFixInTheMessage() throws IOException {
        TurboJpeg.Availability missing = TurboJpeg.probe("libturbojpeg-that-does-not-exist.so.0");
        assertThat(missing.usable()).isFalse();
        assertThat(missing.description()).contains("libturbojpeg-that-does-not-exist.so.0", "ImageIO", "apt-get install libturbojpeg0");
        String before = System.getProperty(TurboJpeg.DISABLE_PROPERTY);
        System.setProperty(TurboJpeg.DISABLE_PROPERTY, "false");
        try {
            TurboJpeg.Availability disabled = TurboJpeg.probe(TurboJpeg.LIBRARY);
            assertThat(disabled.usable()).isFalse();
            assertThat(disabled.description()).contains("-D" + TurboJpeg.DISABLE_PROPERTY + "=false", "ImageIO");
        } finally {
            if (before == null) System.clearProperty(TurboJpeg.DISABLE_PROPERTY);
            else System.setProperty(TurboJpeg.DISABLE_PROPERTY, before);
        }
        // The ImageIO path reads JPEGs at full size whatever the crops would allow.
        EncodedImage viaImageIo = ImageDecoder.open(colourJpeg("fallback.jpg", 4, 48), false);
        assertThat(viaImageIo.scalable()).isFalse();
        assertThat(viaImageIo.decode(4).width()).isEqualTo(48);
    }
}
