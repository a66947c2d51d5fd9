package org.ibot4j.trainer.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A folder whose first files in sort order are junk (macOS {@code ._*.png} resource forks sort before
 * the images): before, "none of the first images of the dataset could be read" after 16 tries.
 */
class JunkFirstFilesTest {
    @Test
    void junkBeforeTheImagesIsSkipped(@TempDir Path dir) throws Exception {
        Path folder = FashionPngs.write(dir.resolve("imgs"), 3);
        for (int i = 0; i < 20; i++) Files.write(folder.resolve("._img" + i + ".png"), new byte[] {0, 5, 22, 7, 0, 2, 0, 0});
        ImageSource source = Datasets.open(folder.toString(), Datasets.Split.TRAIN);
        assertThat(source.size()).isEqualTo(23);
        assertThat(source.describe(0)).contains("._img0.png");
        assertThat(Datasets.sizeOfFirst(source, folder.toString())).containsExactly(28, 28);
    }

    @Test
    void aFolderOfJunkOnlyIsRefusedSayingWhereAndWhy(@TempDir Path dir) throws Exception {
        Path folder = Files.createDirectories(dir.resolve("junk"));
        for (int i = 0; i < 20; i++) Files.write(folder.resolve("._img" + i + ".png"), new byte[] {0, 5, 22, 7});
        ImageSource source = Datasets.open(folder.toString(), Datasets.Split.TRAIN);
        assertThatThrownBy(() -> Datasets.sizeOfFirst(source, folder.toString()))
                .hasMessageContaining("no image of " + folder).hasMessageContaining("20 item(s) tried")
                .hasMessageContaining("._img0.png");
    }

    @Test
    void specialFilesInAnImageFolderAreLeftOutWithAWarning(@TempDir Path dir) throws Exception {
        Path folder = FashionPngs.write(dir.resolve("imgs"), 2);
        SpecialFileFixtures.mkfifo(folder.resolve("a-fifo.png"));
        Files.createSymbolicLink(folder.resolve("loop.png"), Path.of("loop.png"));
        ImageSource source = Datasets.open(folder.toString(), Datasets.Split.TRAIN);
        assertThat(source.size()).isEqualTo(2);
    }
}
