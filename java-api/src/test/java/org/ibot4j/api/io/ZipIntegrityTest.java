package org.ibot4j.api.io;

import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.assertThatCode;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A zip whose headers lie about sizes is refused without inflating more than they promise. */
class ZipIntegrityTest {
    private static final int CENTRAL_HEADER = 0x02014b50, SIZE_FIELD = 24;

    /** One deflated entry of 4 MiB of zeros (about 4 KiB compressed). */
    private static Path zeros(Path dir) throws IOException {
        Path file = dir.resolve("zeros.pth");
        try (OutputStream out = Files.newOutputStream(file); ZipOutputStream zip = new ZipOutputStream(out)) {
            zip.putNextEntry(new ZipEntry("archive/data/0"));
            zip.write(new byte[4 << 20]);
            zip.closeEntry();
        }
        return file;
    }

    /** Rewrites the central directory's uncompressed size of the first entry. */
    private static void declareSize(Path file, long size) throws IOException {
        byte[] b = Files.readAllBytes(file);
        ByteBuffer buf = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i + 4 <= b.length; i++) {
            if (buf.getInt(i) == CENTRAL_HEADER) {
                buf.putInt(i + SIZE_FIELD, (int) size);
                Files.write(file, b);
                return;
            }
        }
        throw new IllegalStateException("no central directory");
    }

    @Test
    void anHonestCompressedEntryPasses(@TempDir Path dir) throws IOException {
        Path file = zeros(dir);
        assertThatCode(() -> ZipIntegrity.verify(file)).doesNotThrowAnyException();
    }

    @Test
    void anEntryLongerThanItsHeaderSaysIsRefusedAtThatSize(@TempDir Path dir) throws IOException {
        Path file = zeros(dir);
        declareSize(file, 100);
        assertThatThrownBy(() -> ZipIntegrity.verify(file)).isInstanceOf(IOException.class)
                .hasMessageContaining("holds more than the 100 bytes its header says");
    }

    @Test
    void aHugeDeclaredExpansionIsRefusedBeforeInflating(@TempDir Path dir) throws IOException {
        Path file = zeros(dir);
        declareSize(file, 0xF000_0000L);
        assertThatThrownBy(() -> ZipIntegrity.verify(file)).isInstanceOf(IOException.class)
                .hasMessageContaining("looks like a zip bomb");
    }
}
