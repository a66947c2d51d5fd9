package org.ibot4j.api;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.ibot4j.bindings.Ibot4jC;
import org.ibot4j.bindings.ibot4j_build_info;

/**
 * Finds and loads libibot4j once per JVM, then checks that the LibTorch it loaded is the version it
 * was compiled against. Search order: system property {@code ibot4j.library}, environment variable
 * {@code IBOT4J_LIBRARY}, {@code build/native/libibot4j.so} under {@code ibot4j.root} (or the working
 * directory), then every folder of {@code java.library.path}.
 */
public final class NativeLibrary {
    /** The C ABI this Java code was written for ({@code IBOT4J_ABI_VERSION}). */
    static final int ABI_VERSION = org.ibot4j.bindings.Ibot4jC.IBOT4J_ABI_VERSION();

    private static final String FILE_NAME = System.mapLibraryName("ibot4j");
    private static final Pattern TORCH_VERSION = Pattern.compile("TORCH_VERSION=([0-9][^,\\s]*)");
    private static volatile LibTorchInfo info;

    private NativeLibrary() {}

    /** Loads the library if needed and returns what was loaded. */
    public static LibTorchInfo load() {
        LibTorchInfo loaded = info;
        if (loaded == null) {
            synchronized (NativeLibrary.class) {
                loaded = info;
                if (loaded == null) {
                    loaded = loadOnce();
                    info = loaded;
                }
            }
        }
        return loaded;
    }

    /** The places searched, in order, each with where the path came from. */
    public static List<String> searchedLocations() {
        List<String> out = new ArrayList<>();
        for (Candidate c : candidates()) out.add(c.path() + " (" + c.origin() + ")");
        return out;
    }

    private record Candidate(Path path, String origin) {}

    private static List<Candidate> candidates() {
        List<Candidate> list = new ArrayList<>();
        String property = System.getProperty("ibot4j.library");
        if (property != null && !property.isBlank()) list.add(new Candidate(Path.of(property), "-Dibot4j.library"));
        String env = System.getenv("IBOT4J_LIBRARY");
        if (env != null && !env.isBlank()) list.add(new Candidate(Path.of(env), "IBOT4J_LIBRARY"));
        String root = System.getProperty("ibot4j.root", System.getProperty("user.dir"));
        list.add(new Candidate(Path.of(root, "build", "native", FILE_NAME), "ci/build-native output"));
        for (String dir : System.getProperty("java.library.path", "").split(java.io.File.pathSeparator)) {
            if (!dir.isBlank()) list.add(new Candidate(Path.of(dir, FILE_NAME), "java.library.path"));
        }
        return list;
    }

    private static LibTorchInfo loadOnce() {
        Path found = null;
        for (Candidate c : candidates()) {
            if (Files.isRegularFile(c.path())) {
                found = c.path().toAbsolutePath();
                break;
            }
        }
        if (found == null) {
            throw new NativeLibraryException("libibot4j not found. Looked for " + FILE_NAME + " at:\n  "
                    + String.join("\n  ", searchedLocations())
                    + "\nBuild it with ci/build-native (it fetches LibTorch when needed), or point -Dibot4j.library / "
                    + "IBOT4J_LIBRARY at it. './ibot4j doctor' checks the whole setup.");
        }
        try {
            System.load(found.toString());
        } catch (UnsatisfiedLinkError e) {
            throw new NativeLibraryException("found " + found + " but could not load it: " + e.getMessage()
                    + "\nIts LibTorch libraries (libtorch.so, libc10.so, libtorch_cpu.so) are looked up through the RUNPATH "
                    + "recorded at build time and LD_LIBRARY_PATH. If LibTorch moved, rebuild with ci/build-native; "
                    + "'./ibot4j doctor' shows what is missing.", e);
        }
        return describe(found);
    }

    private static LibTorchInfo describe(Path library) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment err = NativeErrors.allocate(arena);
            MemorySegment buildInfo = ibot4j_build_info.allocate(arena);
            NativeErrors.check(Ibot4jC.ibot4j_build_info_get(buildInfo, err, NativeErrors.BUFFER_BYTES), err, "build info");
            int abi = ibot4j_build_info.abi_version(buildInfo);
            if (abi != ABI_VERSION) {
                throw new NativeLibraryException(library + " implements C ABI " + abi + " but this ibot4j expects "
                        + ABI_VERSION + "; rebuild the native library from the same checkout (ci/build-native).");
            }
            String compiled = ibot4j_build_info.torch_major(buildInfo) + "." + ibot4j_build_info.torch_minor(buildInfo)
                    + "." + ibot4j_build_info.torch_patch(buildInfo);
            long configBytes = 1 << 16;
            MemorySegment config = arena.allocate(configBytes);
            NativeErrors.check(Ibot4jC.ibot4j_torch_config(config, configBytes, err, NativeErrors.BUFFER_BYTES), err, "torch config");
            String torchConfig = config.getString(0);
            Matcher m = TORCH_VERSION.matcher(torchConfig);
            String loaded = m.find() ? m.group(1) : "unknown";
            // A local build may carry a suffix such as 2.13.0a0+git...: compare the release numbers.
            if (!loaded.equals(compiled) && !loaded.startsWith(compiled + "a") && !loaded.startsWith(compiled + "+")) {
                throw new NativeLibraryException(library + " was compiled against LibTorch " + compiled
                        + " but the LibTorch loaded at run time reports " + loaded
                        + ". Rebuild with ci/build-native against the LibTorch you run with, or set LIBTORCH to the "
                        + compiled + " one.");
            }
            return new LibTorchInfo(library, compiled, loaded, ibot4j_build_info.cuda_available(buildInfo) != 0,
                    ibot4j_build_info.num_threads(buildInfo), torchConfig);
        }
    }
}
