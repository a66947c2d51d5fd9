package org.ibot4j.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The search and extraction logic of NativeLibrary, without loading anything (no native jar needed). */
class NativeLibrarySearchTest {
    @TempDir
    Path tmp;

    private NativeLibrary.Lookup lookup(Map<String, String> props, Map<String, String> env) {
        Map<String, String> p = new HashMap<>(props);
        p.putIfAbsent("user.dir", tmp.resolve("work").toString());
        p.putIfAbsent("user.home", tmp.resolve("home").toString());
        p.putIfAbsent("java.library.path", tmp.resolve("jlp").toString());
        return new NativeLibrary.Lookup(p::get, env::get);
    }

    private static byte[] randomBytes(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    @Test
    void extractionWritesTheSameBytesUnderTheirHashAndReusesThem() throws Exception {
        byte[] content = randomBytes(300_000, 1);
        Path root = tmp.resolve("cache/native");
        Path target = NativeLibrary.extractedPath(root, content);
        assertThat(target.getParent().getFileName().toString()).isEqualTo(NativeLibrary.sha256(content)).hasSize(64);
        assertThat(NativeLibrary.extract(content, root)).isTrue();
        assertThat(Files.readAllBytes(target)).isEqualTo(content);
        assertThat(NativeLibrary.extract(content, root)).isFalse();
        // A damaged copy (say, a crash of an older version mid-write) is replaced.
        Files.write(target, new byte[] {1, 2, 3});
        assertThat(NativeLibrary.extract(content, root)).isTrue();
        assertThat(Files.readAllBytes(target)).isEqualTo(content);
        try (var files = Files.list(target.getParent())) {
            assertThat(files.map(f -> f.getFileName().toString()).toList()).containsExactly(NativeLibrary.FILE_NAME);
        }
    }

    @Test
    void concurrentExtractionsNeverShowAPartialFile() throws Exception {
        byte[] content = randomBytes(2_000_000, 2);
        Path root = tmp.resolve("shared/native");
        Path target = NativeLibrary.extractedPath(root, content);
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<?>> writers = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                writers.add(pool.submit(() -> {
                    // Each writer acts like a fresh JVM: the first check finds no file or a whole one.
                    Files.deleteIfExists(target);
                    return NativeLibrary.extract(content, root);
                }));
            }
            for (int i = 0; i < 200; i++) {
                if (Files.exists(target)) {
                    try {
                        byte[] seen = Files.readAllBytes(target);
                        assertThat(seen.length).isEqualTo(content.length);
                    } catch (NoSuchFileException deletedMeanwhile) {
                        // a writer removed it between exists() and the read
                    }
                }
            }
            for (Future<?> f : writers) f.get();
        } finally {
            pool.shutdownNow();
        }
        NativeLibrary.extract(content, root);
        assertThat(Files.readAllBytes(target)).isEqualTo(content);
        try (var files = Files.list(target.getParent())) {
            assertThat(files.count()).as("no temporary files left").isEqualTo(1);
        }
    }

    @Test
    void missingLibraryAndLibTorchNameEveryPlaceLookedAt() {
        NativeLibrary.Lookup lookup = lookup(Map.of("ibot4j.library", tmp.resolve("nope/libibot4j.so").toString()), Map.of());
        NativeLibrary.Trace trace = new NativeLibrary.Trace();
        assertThat(NativeLibrary.findLibrary(lookup, trace, true)).isNull();
        String message = NativeLibrary.notFoundMessage(trace);
        assertThat(message)
                .contains(tmp.resolve("nope/libibot4j.so") + " (-Dibot4j.library): not found")
                .contains(tmp.resolve("work/build/native/libibot4j.so") + " (ci/build-native output): not found")
                .contains(tmp.resolve("jlp/libibot4j.so") + " (java.library.path): not found")
                .contains("classpath resource org/ibot4j/native/" + NativeLibrary.PLATFORM + "/libibot4j.so: not found")
                .contains("ci/build-native")
                .contains("ibot4j-native");

        NativeLibrary.Trace torchTrace = new NativeLibrary.Trace();
        LibTorchSearch.LibTorchChoice choice = LibTorchSearch.findLibTorch(lookup, torchTrace);
        assertThat(choice.libDir()).isNull();
        assertThat(choice.problem()).isNull();
        assertThat(choice.libraries()).isEmpty();
        assertThat(String.join("\n", torchTrace.lines()))
                .contains("LIBTORCH: not set")
                .contains("LIBTORCH_USE_PYTORCH: not set")
                .contains(tmp.resolve("work/.cache/libtorch/lib") + " (repository cache")
                .contains(tmp.resolve("home/.cache/ibot4j/libtorch/lib") + " (user cache): not found")
                .contains("RUNPATH");
        assertThat(NativeLibrary.libTorchHelp()).contains("LIBTORCH=").contains("LIBTORCH_USE_PYTORCH=1").contains("ci/libtorch");
    }

    @Test
    void libTorchRulesPickTheFirstMatchAndLoadInDependencyOrder() throws Exception {
        Path fake = tmp.resolve("libtorch");
        Files.createDirectories(fake.resolve("lib"));
        for (String name : List.of("libtorch.so", "libtorch_cuda.so", "libc10.so", "libtorch_cpu.so", "libc10_cuda.so", "libgomp.so.1")) {
            Files.write(fake.resolve("lib").resolve(name), new byte[0]);
        }
        // The user cache has it, LIBTORCH is not set.
        Path userCache = tmp.resolve("home/.cache/ibot4j/libtorch");
        Files.createDirectories(userCache.getParent());
        Files.createSymbolicLink(userCache, fake);
        NativeLibrary.Trace trace = new NativeLibrary.Trace();
        LibTorchSearch.LibTorchChoice choice = LibTorchSearch.findLibTorch(lookup(Map.of(), Map.of()), trace);
        assertThat(choice.libDir()).isEqualTo(userCache.resolve("lib"));
        assertThat(choice.libraries()).extracting(p -> p.getFileName().toString())
                .containsExactly("libc10.so", "libc10_cuda.so", "libtorch_cpu.so", "libtorch_cuda.so", "libtorch.so");
        assertThat(trace.lines().getLast()).contains("(user cache): found, used");

        // A library found by path (not extracted) keeps its RUNPATH: the caches are not consulted.
        NativeLibrary.Trace byPath = new NativeLibrary.Trace();
        assertThat(LibTorchSearch.findLibTorch(lookup(Map.of(), Map.of()), byPath, false).libDir()).isNull();
        assertThat(byPath.lines().getLast()).contains("RUNPATH");

        // LIBTORCH wins over the caches.
        Path other = tmp.resolve("other");
        Files.createDirectories(other.resolve("lib"));
        for (String name : LibTorchSearch.LIBTORCH_REQUIRED) Files.write(other.resolve("lib").resolve(name), new byte[0]);
        choice = LibTorchSearch.findLibTorch(lookup(Map.of(), Map.of("LIBTORCH", other.toString())), new NativeLibrary.Trace());
        assertThat(choice.libDir()).isEqualTo(other.resolve("lib"));
        assertThat(choice.libraries()).extracting(p -> p.getFileName().toString())
                .containsExactly("libc10.so", "libtorch_cpu.so", "libtorch.so");
    }

    @Test
    void brokenExplicitLibTorchSettingsAreProblemsNotFallbacks() {
        LibTorchSearch.LibTorchChoice choice = LibTorchSearch.findLibTorch(
                lookup(Map.of(), Map.of("LIBTORCH", tmp.resolve("empty").toString())), new NativeLibrary.Trace());
        assertThat(choice.problem()).contains("LIBTORCH=" + tmp.resolve("empty")).contains("libc10.so");

        NativeLibrary.Trace trace = new NativeLibrary.Trace();
        choice = LibTorchSearch.findLibTorch(lookup(Map.of(), Map.of("LIBTORCH_USE_PYTORCH", "1",
                "PYTHON", tmp.resolve("no-python").toString())), trace);
        assertThat(choice.problem()).contains("LIBTORCH_USE_PYTORCH=1").contains(tmp.resolve("no-python").toString());
        assertThat(trace.lines()).anyMatch(l -> l.contains("LIBTORCH_USE_PYTORCH=1") && l.contains("failed"));
    }

    @Test
    void platformNames() {
        assertThat(NativeLibrary.platform("Linux", "amd64")).isEqualTo("linux-x86_64");
        assertThat(NativeLibrary.platform("Linux", "aarch64")).isEqualTo("linux-aarch64");
    }

    @Test
    void diagnoseListsSteps() {
        assertThat(NativeLibrary.diagnose()).anyMatch(l -> l.startsWith("libibot4j: ")).anyMatch(l -> l.startsWith("LibTorch: "));
        assertThat(NativeLibrary.searchedLocations()).anyMatch(l -> l.contains("classpath " + NativeLibrary.RESOURCE));
    }
}
