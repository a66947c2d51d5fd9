package org.ibot4j.trainer.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class Cifar10SourceTest {
    @Test
    void readsTheBinaryBatchLayout(@TempDir Path dir) throws IOException {
        // Two records in CIFAR-10's layout: label byte, then 1024 red, 1024 green, 1024 blue bytes.
        byte[] batch = new byte[2 * 3073];
        batch[0] = 7;
        batch[1] = (byte) 255;            // red of pixel (0, 0)
        batch[1 + 1024 + 33] = 51;        // green of pixel (1, 1)
        batch[3073] = 2;
        batch[3073 + 1 + 2048 + 1023] = (byte) 128;  // blue of the last pixel
        Files.write(dir.resolve("data_batch_1.bin"), batch);
        Cifar10Source source = Cifar10Source.read(dir, "data_batch");
        assertThat(source.size()).isEqualTo(2);
        assertThat(source.label(0)).isEqualTo(7);
        assertThat(source.label(1)).isEqualTo(2);
        RgbImage first = source.load(0);
        assertThat(first.get(0, 0, 0)).isEqualTo(1f);
        assertThat(first.get(1, 1, 1)).isEqualTo(51 / 255f);
        assertThat(source.load(1).get(2, 31, 31)).isEqualTo(128 / 255f);
        Files.write(dir.resolve("data_batch_2.bin"), new byte[100]);
        assertThatThrownBy(() -> Cifar10Source.read(dir, "data_batch")).hasMessageContaining("data_batch_2.bin");
    }
}
