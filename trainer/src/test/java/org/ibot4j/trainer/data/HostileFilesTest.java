package org.ibot4j.trainer.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Files from the internet: an image that declares 30000 x 30000 pixels, and a FIFO where an image should be. */
class HostileFilesTest {
    @Test
    @Timeout(value = 20, unit = TimeUnit.SECONDS)
    void aDecompressionBombIsRefusedFromItsHeaderWithoutDecoding(@TempDir Path dir) throws IOException {
        Path bomb = Files.write(dir.resolve("bomb.png"), pngHeader(30000, 30000));
        long before = usedHeap();
        assertThatThrownBy(() -> ImageDecoder.decode(bomb)).isInstanceOf(IOException.class)
                .hasMessageContaining("30000 x 30000 pixels").hasMessageContaining("decompression bomb");
        assertThat(usedHeap() - before).as("bytes allocated").isLessThan(64L << 20);
    }

    @Test
    @Timeout(value = 20, unit = TimeUnit.SECONDS)
    void aFifoInAListOfImagesIsSkippedInsteadOfBlockingTheLoader(@TempDir Path dir) throws Exception {
        Path fifo = dir.resolve("stalled.png");
        Process mkfifo = new ProcessBuilder("mkfifo", fifo.toString()).start();
        assertThat(mkfifo.waitFor()).isZero();
        assertThatThrownBy(() -> ImageDecoder.decode(fifo)).isInstanceOf(IOException.class).hasMessageContaining("not a regular file");

        Path images = FashionPngs.write(dir.resolve("images"), 2);
        Path list = Files.write(dir.resolve("list.txt"), List.of(images.resolve("img0.png").toString(), fifo.toString(),
                images.resolve("img1.png").toString()), StandardCharsets.UTF_8);
        ImageSource source = Datasets.open(list.toString(), Datasets.Split.TRAIN);
        assertThat(source.size()).isEqualTo(3);
        assertThat(source.load(0).width()).isEqualTo(28);
        assertThatThrownBy(() -> source.load(1)).isInstanceOf(IOException.class);
        assertThat(source.load(2).width()).isEqualTo(28);
    }

    /** A PNG signature, an IHDR chunk declaring width x height 8-bit grey, and IEND: no pixel data. */
    static byte[] pngHeader(int width, int height) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(bytes);
        out.write(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
        ByteArrayOutputStream ihdr = new ByteArrayOutputStream();
        DataOutputStream h = new DataOutputStream(ihdr);
        h.writeInt(width);
        h.writeInt(height);
        h.write(new byte[] {8, 0, 0, 0, 0});
        chunk(out, "IHDR", ihdr.toByteArray());
        chunk(out, "IEND", new byte[0]);
        return bytes.toByteArray();
    }

    private static void chunk(DataOutputStream out, String type, byte[] data) throws IOException {
        out.writeInt(data.length);
        byte[] name = type.getBytes(StandardCharsets.US_ASCII);
        out.write(name);
        out.write(data);
        CRC32 crc = new CRC32();
        crc.update(name);
        crc.update(data);
        out.writeInt((int) crc.getValue());
    }

    private static long usedHeap() {
        Runtime r = Runtime.getRuntime();
        return r.totalMemory() - r.freeMemory();
    }
}
