package org.ibot4j.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.ibot4j.api.io.AtomicFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AtomicFilesTest {
    @TempDir
    Path dir;

    @Test
    void writesAndReplacesContentInEveryForm() throws IOException {
        Path file = dir.resolve("a.txt");
        AtomicFiles.writeString(file, "first ü");
        assertThat(Files.readString(file)).isEqualTo("first ü");
        AtomicFiles.writeBytes(file, new byte[] {1, 2, 3});
        assertThat(Files.readAllBytes(file)).containsExactly(1, 2, 3);
        AtomicFiles.write(file, out -> out.write("stream".getBytes(StandardCharsets.UTF_8)));
        assertThat(Files.readString(file)).isEqualTo("stream");
        AtomicFiles.writeToPath(file, temp -> {
            assertThat(temp.getParent()).isEqualTo(dir.toAbsolutePath());
            assertThat(AtomicFiles.isTemporary(temp)).as(temp.toString()).isTrue();
            Files.writeString(temp, "by path");
        });
        assertThat(Files.readString(file)).isEqualTo("by path");
        // A writer that replaces the temporary file (as a native writer may) is fine too.
        AtomicFiles.writeToPath(file, temp -> {
            Files.delete(temp);
            Files.writeString(temp, "recreated");
        });
        assertThat(Files.readString(file)).isEqualTo("recreated");
        assertThat(names()).containsExactly("a.txt");
    }

    @Test
    void aFailingWriterLeavesTheOldFileAndNoTemporaryFile() throws IOException {
        Path file = dir.resolve("model.pth");
        AtomicFiles.writeString(file, "old");
        assertThatThrownBy(() -> AtomicFiles.write(file, out -> {
            out.write(new byte[100_000]);
            throw new IOException("disk full");
        })).isInstanceOf(IOException.class).hasMessage("disk full");
        assertThatThrownBy(() -> AtomicFiles.writeToPath(file, temp -> {
            Files.writeString(temp, "half");
            throw new UncheckedIOException(new IOException("native write failed"));
        })).isInstanceOf(UncheckedIOException.class);
        assertThat(Files.readString(file)).isEqualTo("old");
        assertThat(names()).containsExactly("model.pth");
    }

    @Test
    void aFailedFirstWriteLeavesNothing() throws IOException {
        Path file = dir.resolve("new.bin");
        assertThatThrownBy(() -> AtomicFiles.write(file, out -> {
            throw new IllegalStateException("no");
        })).isInstanceOf(IllegalStateException.class);
        assertThat(names()).isEmpty();
    }

    @Test
    void createsMissingFolders() throws IOException {
        Path file = dir.resolve("x/y/z/out.safetensors");
        AtomicFiles.writeString(file, "deep");
        assertThat(Files.readString(file)).isEqualTo("deep");
    }

    @Test
    void relativeTargetsResolveAgainstTheWorkingDirectory() throws IOException {
        Path relative = Path.of("target", "atomic-files-test", "relative.txt");
        try {
            AtomicFiles.writeString(relative, "here");
            assertThat(Files.readString(Path.of(System.getProperty("user.dir")).resolve(relative))).isEqualTo("here");
        } finally {
            Files.deleteIfExists(relative);
        }
    }

    @Test
    void concurrentWritersOfOneTargetDoNotCollide() throws Exception {
        Path file = dir.resolve("shared.txt");
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<?>> writes = new ArrayList<>();
            for (int i = 0; i < 64; i++) {
                String text = "writer " + i + "\n".repeat(i * 100);
                writes.add(pool.submit(() -> {
                    AtomicFiles.writeString(file, text);
                    return null;
                }));
            }
            for (Future<?> f : writes) f.get();
        } finally {
            pool.shutdown();
        }
        assertThat(Files.readString(file)).startsWith("writer ");
        assertThat(names()).containsExactly("shared.txt");
    }

    @Test
    void recognisesItsTemporaryNames() {
        assertThat(AtomicFiles.isTemporary(Path.of("/a/.teacher.pth.1234-9f3a.tmp"))).isTrue();
        assertThat(AtomicFiles.isTemporary(Path.of("/a/teacher.pth"))).isFalse();
        assertThat(AtomicFiles.isTemporary(Path.of("/a/teacher.pth.tmp"))).isFalse();
    }

    private List<String> names() throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    /** A failed write is reported about the file the user named, not the temporary file they never saw. */
    @Test
    void aFailedWriteNamesTheTargetNotItsTemporaryFile(@TempDir Path dir) {
        Path target = dir.resolve("report.html");
        assertThatThrownBy(() -> AtomicFiles.writeToPath(target, temp -> {
            throw new FileSystemException(temp.toString(), null, "No space left on device");
        })).isInstanceOf(IOException.class).hasMessage("writing " + target + " failed: No space left on device")
                .hasMessageNotContaining(".tmp");
        assertThat(target).doesNotExist();
    }

    /** Only regular files are written over: a FIFO (or a device node) at the target is refused and stays. */
    @Test
    void aSpecialFileAtTheTargetIsRefusedAndLeftAsItIs(@TempDir Path dir) throws Exception {
        Path fifo = dir.resolve("out.bin");
        assertThat(new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor()).isZero();
        assertThatThrownBy(() -> AtomicFiles.writeString(fifo, "x")).isInstanceOf(IOException.class)
                .hasMessage(fifo + " is a FIFO (named pipe): ibot4j replaces only regular files; choose another path");
        assertThat(Files.isRegularFile(fifo)).isFalse();
        Path link = Files.createSymbolicLink(dir.resolve("link.bin"), Files.writeString(dir.resolve("real.bin"), "old"));
        assertThatThrownBy(() -> AtomicFiles.writeString(link, "x")).hasMessageContaining("is a symbolic link");
        assertThat(Files.readString(dir.resolve("real.bin"))).isEqualTo("old");
    }
}
