package org.ibot4j.trainer.eval.viz;

import static org.assertj.core.api.Assertions.assertThat;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * PNGs are encoded in memory: before, {@code ImageIO.write} to a stream cached through
 * {@code imageio*.tmp} in the temporary folder (a full /tmp stopped runs; kills left the files).
 */
class PngTest {
    @Test
    void encodingWritesNoCacheFileAndRoundTrips(@TempDir Path cache) throws Exception {
        File before = ImageIO.getCacheDirectory();
        boolean used = ImageIO.getUseCache();
        ImageIO.setUseCache(true);
        ImageIO.setCacheDirectory(cache.toFile());
        try {
            BufferedImage image = new BufferedImage(40, 30, BufferedImage.TYPE_INT_RGB);
            for (int y = 0; y < 30; y++) for (int x = 0; x < 40; x++) image.setRGB(x, y, (x * 6) << 16 | (y * 8) << 8 | 77);
            byte[] png = Png.encode(image);
            try (Stream<Path> files = Files.list(cache)) {
                assertThat(files.toList()).as("files ImageIO's cache left").isEmpty();
            }
            BufferedImage back = ImageIO.read(new ByteArrayInputStream(png));
            for (int y = 0; y < 30; y++) {
                for (int x = 0; x < 40; x++) assertThat(back.getRGB(x, y) & 0xffffff).isEqualTo(image.getRGB(x, y) & 0xffffff);
            }
        } finally {
            ImageIO.setCacheDirectory(before);
            ImageIO.setUseCache(used);
        }
    }
}
