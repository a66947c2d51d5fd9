package org.ibot4j.trainer.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.io.IOException;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageDecoderTest {
    @TempDir
    Path dir;

    @Test
    void greyAndSixteenBitImagesBecomeThreeEqualChannels() throws IOException {
        BufferedImage grey = new BufferedImage(2, 1, BufferedImage.TYPE_BYTE_GRAY);
        grey.getRaster().setSample(0, 0, 0, 51);
        grey.getRaster().setSample(1, 0, 0, 255);
        RgbImage g = roundTrip(grey, "png");
        for (int c = 0; c < 3; c++) assertThat(g.planes()[c]).containsExactly(new float[] {51 / 255f, 1f}, within(1e-6f));

        BufferedImage deep = new BufferedImage(1, 1, BufferedImage.TYPE_USHORT_GRAY);
        deep.getRaster().setSample(0, 0, 0, 65535 / 4);
        RgbImage d = roundTrip(deep, "png");
        for (int c = 0; c < 3; c++) assertThat(d.planes()[c][0]).isCloseTo(0.25f, within(1e-4f));
    }

    @Test
    void paletteAndAlphaImagesBecomeRgb() throws IOException {
        byte[] r = {(byte) 255, 0}, g = {0, (byte) 128}, b = {0, (byte) 255};
        BufferedImage palette = new BufferedImage(2, 1, BufferedImage.TYPE_BYTE_INDEXED, new IndexColorModel(1, 2, r, g, b));
        palette.getRaster().setSample(0, 0, 0, 0);
        palette.getRaster().setSample(1, 0, 0, 1);
        RgbImage p = roundTrip(palette, "png");
        assertThat(new float[] {p.planes()[0][0], p.planes()[1][0], p.planes()[2][0]}).containsExactly(1f, 0f, 0f);
        assertThat(new float[] {p.planes()[0][1], p.planes()[1][1], p.planes()[2][1]}).containsExactly(0f, 128 / 255f, 1f);

        BufferedImage alpha = new BufferedImage(1, 1, BufferedImage.TYPE_INT_ARGB);
        alpha.setRGB(0, 0, 0x40FF8000);  // 25 % opaque orange: the colour is kept, alpha dropped
        RgbImage a = roundTrip(alpha, "png");
        assertThat(new float[] {a.planes()[0][0], a.planes()[1][0], a.planes()[2][0]}).containsExactly(1f, 128 / 255f, 0f);
    }

    private RgbImage roundTrip(BufferedImage image, String format) throws IOException {
        Path file = dir.resolve("img." + format);
        assertThat(ImageIO.write(image, format, file.toFile())).isTrue();
        return ImageDecoder.decode(file);
    }
}
