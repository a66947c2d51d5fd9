package org.ibot4j.trainer.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

public class IdxDatasetTest {
    public static final Path FASHION = Path.of(System.getenv().getOrDefault("IBOT4J_FASHION_MNIST", "/usr/share/datasets/fashion-mnist"));

    @Test
    void readsTheRealFashionMnistTestSet() throws IOException {
        IdxDataset test = IdxDataset.read(FASHION, "t10k");
        assertThat(test.size()).isEqualTo(10_000);
        assertThat(test.rows()).isEqualTo(28);
        assertThat(test.cols()).isEqualTo(28);
        assertThat(test.numClasses()).isEqualTo(10);
        int[] perClass = new int[10];
        for (int l : test.labels()) perClass[l]++;
        assertThat(perClass).containsOnly(1000);
    }

    @Test
    void truncatedFilesAreAnErrorNamingTheProblem(@TempDir Path dir) throws IOException {
        Files.write(dir.resolve("x-images-idx3-ubyte"), new byte[] {0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 28, 0, 0, 0, 28, 1, 2});
        Files.write(dir.resolve("x-labels-idx1-ubyte"), new byte[] {0, 0, 8, 1, 0, 0, 0, 2, 1, 2});
        assertThatThrownBy(() -> IdxDataset.read(dir, "x")).isInstanceOf(IOException.class).hasMessageContaining("truncated");
        assertThatThrownBy(() -> IdxDataset.read(dir, "missing")).isInstanceOf(IOException.class).hasMessageContaining("no missing-images-idx3-ubyte");
    }
}
