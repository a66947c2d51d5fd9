package org.ibot4j.api;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.URL;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.ibot4j.bindings.Ibot4jC;
import org.ibot4j.bindings.ibot4j_build_info;

/**
 * Finds and loads libibot4j once per JVM, then checks that the LibTorch it loaded is the version it
 * was compiled against.
 *
 * <p>The library: system property {@code ibot4j.library}, environment variable {@code IBOT4J_LIBRARY},
 * {@code build/native/libibot4j.so} under {@code ibot4j.root} (or the working directory), every folder of
 * {@code java.library.path}; when none of these exists, the classpath resource
 * {@code org/ibot4j/native/linux-x86_64/libibot4j.so} (the {@code org.ibot4j:ibot4j-native} jar with
 * classifier {@code linux-x86_64}) is extracted to {@code ~/.cache/ibot4j/native/<sha256>/libibot4j.so}
 * (or under {@code -Dibot4j.cache.dir}) and loaded from there.
 *
 * <p>LibTorch, loaded by absolute path before libibot4j so that libibot4j's {@code DT_NEEDED} entries
 * resolve to it: environment variable {@code LIBTORCH} ({@code <dir>/lib}), {@code LIBTORCH_USE_PYTORCH=1}
 * (the {@code torch} package of {@code $PYTHON} or {@code python3}, its {@code lib} folder), then
 * {@code .cache/libtorch} under {@code ibot4j.root} (or the working directory), then
 * {@code ~/.cache/ibot4j/libtorch}. When none has LibTorch, libibot4j's RUNPATH and
 * {@code LD_LIBRARY_PATH} decide. The two caches are consulted only for a library extracted from the
 * jar: one found by path (given, or built by ci/build-native) keeps the LibTorch its RUNPATH names
 * unless {@code LIBTORCH} or {@code LIBTORCH_USE_PYTORCH} says otherwise.
 *
 * <p>{@link #diagnose()} lists every step (what was looked at, where, and the outcome).
 */
public final class NativeLibrary {
    /** The C ABI this Java code was written for ({@code IBOT4J_ABI_VERSION}). */
    static final int ABI_VERSION = Ibot4jC.IBOT4J_ABI_VERSION();

    static final String FILE_NAME = System.mapLibraryName("ibot4j");
    /** The platform folder of the native jar, e.g. {@code linux-x86_64}. */
    static final String PLATFORM = platform(System.getProperty("os.name", ""), System.getProperty("os.arch", ""));
    /** Where the native jar keeps the library (a classpath resource name). */
    static final String RESOURCE_DIR = "org/ibot4j/native/" + PLATFORM;
    static final String RESOURCE = RESOURCE_DIR + "/" + FILE_NAME;
    /** Next to the library in the native jar: {@code torch.version}, {@code abi.version}. */
    static final String RESOURCE_PROPERTIES = RESOURCE_DIR + "/ibot4j-native.properties";

    private static final Pattern TORCH_VERSION = Pattern.compile("TORCH_VERSION=([0-9][^,\\s]*)");
    private static volatile LibTorchInfo info;
    private static volatile List<String> lastAttempt;

    private NativeLibrary() {}

    /** Loads the library if needed and returns what was loaded. */
    public static LibTorchInfo load() {
        LibTorchInfo loaded = info;
        if (loaded == null) {
            synchronized (NativeLibrary.class) {
                loaded = info;
                if (loaded == null) {
                    Trace trace = new Trace();
                    try {
                        loaded = loadOnce(Lookup.system(), trace);
                        info = loaded;
                    } finally {
                        lastAttempt = trace.lines();
                    }
                }
            }
        }
        return loaded;
    }

    /**
     * Every step of finding libibot4j and LibTorch, one human-readable line each ("looked at X: found /
     * not found / used", "loaded X"). After {@link #load()} was called (successfully or not) these are the
     * steps of that attempt; before, a dry run of the same search that loads and writes nothing.
     */
    public static List<String> diagnose() {
        List<String> last = lastAttempt;
        if (last != null) return last;
        Trace trace = new Trace();
        Lookup lookup = Lookup.system();
        Found found = findLibrary(lookup, trace, false);
        LibTorchSearch.findLibTorch(lookup, trace, found == null || found.extracted());
        return trace.lines();
    }

    /** The places searched for libibot4j, in order, each with where the path came from. */
    public static List<String> searchedLocations() {
        List<String> out = new ArrayList<>();
        Lookup lookup = Lookup.system();
        for (Candidate c : candidates(lookup)) out.add(c.path() + " (" + c.origin() + ")");
        out.add("classpath " + RESOURCE + " (org.ibot4j:ibot4j-native:" + PLATFORM + " jar), extracted to "
                + lookup.cacheDir().resolve("native") + "/<sha256>/" + FILE_NAME);
        return out;
    }

    // ---- the search, written against a Lookup so that tests can give it their own environment ----

    /** System properties, environment variables and the home folder the search reads. */
    record Lookup(Function<String, String> property, Function<String, String> env) {
        static Lookup system() {
            return new Lookup(System::getProperty, System::getenv);
        }

        String prop(String name) {
            String v = property.apply(name);
            return v == null || v.isBlank() ? null : v;
        }

        String var(String name) {
            String v = env.apply(name);
            return v == null || v.isBlank() ? null : v;
        }

        Path root() {
            String r = prop("ibot4j.root");
            return Path.of(r != null ? r : String.valueOf(prop("user.dir")));
        }

        /** {@code -Dibot4j.cache.dir}, else {@code ~/.cache/ibot4j}. */
        Path cacheDir() {
            String c = prop("ibot4j.cache.dir");
            if (c != null) return Path.of(c);
            return Path.of(String.valueOf(prop("user.home")), ".cache", "ibot4j");
        }
    }

    /** The steps taken, as lines for diagnose() and error messages. */
    static final class Trace {
        private final List<String> lines = new ArrayList<>();

        void add(String line) {
            lines.add(line);
        }

        List<String> lines() {
            return List.copyOf(lines);
        }

        String indented() {
            return "  " + String.join("\n  ", lines);
        }
    }

    record Candidate(Path path, String origin) {}

    static List<Candidate> candidates(Lookup lookup) {
        List<Candidate> list = new ArrayList<>();
        String property = lookup.prop("ibot4j.library");
        if (property != null) list.add(new Candidate(Path.of(property), "-Dibot4j.library"));
        String env = lookup.var("IBOT4J_LIBRARY");
        if (env != null) list.add(new Candidate(Path.of(env), "IBOT4J_LIBRARY"));
        list.add(new Candidate(lookup.root().resolve("build").resolve("native").resolve(FILE_NAME), "ci/build-native output"));
        String libraryPath = lookup.prop("java.library.path");
        for (String dir : (libraryPath == null ? "" : libraryPath).split(File.pathSeparator)) {
            if (!dir.isBlank()) list.add(new Candidate(Path.of(dir, FILE_NAME), "java.library.path"));
        }
        return list;
    }

    /** A libibot4j file, and whether it is a copy extracted from the classpath (rather than a given or built path). */
    record Found(Path path, boolean extracted) {}

    /** Where libibot4j was found, or null; with {@code extract} false the classpath copy is only planned. */
    static Found findLibrary(Lookup lookup, Trace trace, boolean extract) {
        for (Candidate c : candidates(lookup)) {
            if (Files.isRegularFile(c.path())) {
                trace.add("libibot4j: looked at " + c.path() + " (" + c.origin() + "): found, used");
                return new Found(c.path().toAbsolutePath(), false);
            }
            trace.add("libibot4j: looked at " + c.path() + " (" + c.origin() + "): not found");
        }
        URL url = resourceUrl(RESOURCE);
        if (url == null) {
            trace.add("libibot4j: looked at classpath resource " + RESOURCE + ": not found (no org.ibot4j:ibot4j-native jar "
                    + "with classifier " + PLATFORM + " on the classpath)");
            return null;
        }
        trace.add("libibot4j: looked at classpath resource " + RESOURCE + ": found in " + url);
        byte[] content;
        try (InputStream in = url.openStream()) {
            content = in.readAllBytes();
        } catch (IOException e) {
            throw new NativeLibraryException("could not read " + url + ": " + e.getMessage() + "\n" + trace.indented(), e);
        }
        Path primary = lookup.cacheDir().resolve("native");
        if (!extract) {
            trace.add("libibot4j: would extract it to " + extractedPath(primary, content) + " (on load)");
            return new Found(extractedPath(primary, content), true);
        }
        // No fallback to a shared temporary folder: another user could plant a library there.
        try {
            Path target = extractedPath(primary, content);
            boolean wrote = extract(content, primary);
            trace.add("libibot4j: " + (wrote ? "extracted it to " : "reused the earlier extraction ") + target + ": used");
            return new Found(target, true);
        } catch (IOException e) {
            trace.add("libibot4j: could not extract it under " + primary + ": " + e);
        }
        throw new NativeLibraryException("libibot4j is on the classpath (" + url + ") but could not be extracted:\n"
                + trace.indented() + "\nMake " + primary + " writable, or point -Dibot4j.cache.dir at a writable folder.");
    }

    static URL resourceUrl(String name) {
        ClassLoader loader = NativeLibrary.class.getClassLoader();
        URL url = loader == null ? ClassLoader.getSystemResource(name) : loader.getResource(name);
        if (url == null && Thread.currentThread().getContextClassLoader() != null) {
            url = Thread.currentThread().getContextClassLoader().getResource(name);
        }
        return url;
    }

    static Path extractedPath(Path root, byte[] content) {
        return root.resolve(sha256(content)).resolve(FILE_NAME);
    }

    /**
     * Writes {@code content} to {@code root/<sha256>/libibot4j.so} unless an identical file is there:
     * a temporary file in the same folder renamed over the target, so a reader (another JVM extracting
     * at the same time included) sees either no file or the whole file. Returns whether it wrote.
     */
    static boolean extract(byte[] content, Path root) throws IOException {
        Path target = extractedPath(root, content);
        if (alreadyExtracted(target, content.length)) return false;
        Files.createDirectories(target.getParent());
        Path tmp = Files.createTempFile(target.getParent(), FILE_NAME + ".", ".tmp");
        try {
            Files.write(tmp, content);
            tmp.toFile().setExecutable(true, false);
            tmp.toFile().setReadable(true, false);
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
        return true;
    }

    /** An identical earlier extraction; a file that vanishes while it is checked counts as none. */
    private static boolean alreadyExtracted(Path target, long length) throws IOException {
        try {
            return Files.isRegularFile(target) && Files.size(target) == length
                    && sha256(Files.readAllBytes(target)).equals(target.getParent().getFileName().toString());
        } catch (NoSuchFileException vanished) {
            return false;
        }
    }

    static String sha256(byte[] content) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(content));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** How to get LibTorch, for messages; names the version the packaged library was built against when known. */
    static String libTorchHelp() {
        String version = bundledTorchVersion();
        String which = version == null ? "the LibTorch libibot4j was built against" : "LibTorch " + version;
        return "Provide " + which + ": set LIBTORCH=<dir> (the unpacked official LibTorch zip, with lib/), or "
                + "LIBTORCH_USE_PYTORCH=1 to use the torch package of $PYTHON (default python3), or unpack it to "
                + Lookup.system().cacheDir().resolve("libtorch") + " (in a checkout, ci/libtorch fetches it to .cache/libtorch).";
    }

    /** {@code torch.version} from the native jar's properties, or null. */
    static String bundledTorchVersion() {
        URL url = resourceUrl(RESOURCE_PROPERTIES);
        if (url == null) return null;
        Properties p = new Properties();
        try (InputStream in = url.openStream()) {
            p.load(in);
        } catch (IOException e) {
            return null;
        }
        String v = p.getProperty("torch.version");
        return v == null || v.isBlank() || v.startsWith("${") ? null : v;
    }

    static String notFoundMessage(Trace trace) {
        return "libibot4j not found. Looked for " + FILE_NAME + " at:\n" + trace.indented()
                + "\nBuild it with ci/build-native (it fetches LibTorch when needed), point -Dibot4j.library / "
                + "IBOT4J_LIBRARY at it, or add org.ibot4j:ibot4j-native with classifier " + PLATFORM
                + " to the classpath. './ibot4j doctor' checks the whole setup.";
    }

    private static LibTorchInfo loadOnce(Lookup lookup, Trace trace) {
        Found library = findLibrary(lookup, trace, true);
        if (library == null) throw new NativeLibraryException(notFoundMessage(trace));
        Path found = library.path();
        LibTorchSearch.LibTorchChoice torch = LibTorchSearch.findLibTorch(lookup, trace, library.extracted());
        if (torch.problem() != null) {
            throw new NativeLibraryException(torch.problem() + "\nSteps:\n" + trace.indented());
        }
        for (Path lib : torch.libraries()) {
            try {
                System.load(lib.toString());
                trace.add("LibTorch: loaded " + lib);
            } catch (UnsatisfiedLinkError e) {
                trace.add("LibTorch: could not load " + lib + ": " + e.getMessage());
                throw new NativeLibraryException("could not load LibTorch's " + lib + " (" + torch.rule() + "): "
                        + e.getMessage() + "\nSteps:\n" + trace.indented()
                        + "\nCheck that this LibTorch is complete (its lib/ folder holds its own dependencies, e.g. libgomp), "
                        + "or choose another one. " + libTorchHelp(), e);
            }
        }
        try {
            System.load(found.toString());
            trace.add("libibot4j: loaded " + found);
        } catch (UnsatisfiedLinkError e) {
            trace.add("libibot4j: could not load " + found + ": " + e.getMessage());
            String why = torch.libDir() == null && !library.extracted()
                    ? "Its LibTorch libraries (libtorch.so, libc10.so, libtorch_cpu.so) were looked up through the RUNPATH "
                            + "recorded at build time and LD_LIBRARY_PATH. If LibTorch moved, rebuild with ci/build-native, or set "
                            + "LIBTORCH to the LibTorch it was built against."
                    : torch.libDir() == null
                    ? "No LibTorch was found by the rules, so libibot4j's RUNPATH (recorded at build time) and "
                            + "LD_LIBRARY_PATH were used for libtorch.so, libc10.so and libtorch_cpu.so. " + libTorchHelp()
                    : "LibTorch came from " + torch.libDir() + " (" + torch.rule() + "). If it is not the version "
                            + "libibot4j was built against, choose another (" + libTorchHelp() + ") or rebuild with ci/build-native.";
            throw new NativeLibraryException("found " + found + " but could not load it: " + e.getMessage()
                    + "\nSteps:\n" + trace.indented() + "\n" + why + " './ibot4j doctor' shows every step.", e);
        }
        return describe(found);
    }

    static String platform(String osName, String osArch) {
        String os = osName.toLowerCase(Locale.ROOT);
        os = os.startsWith("linux") ? "linux" : os.startsWith("mac") ? "macos" : os.startsWith("windows") ? "windows"
                : os.replaceAll("[^a-z0-9]", "");
        String arch = osArch.toLowerCase(Locale.ROOT);
        arch = switch (arch) {
            case "amd64", "x86_64", "x64" -> "x86_64";
            case "aarch64", "arm64" -> "aarch64";
            default -> arch.replaceAll("[^a-z0-9_]", "");
        };
        return os + "-" + arch;
    }

    private static LibTorchInfo describe(Path library) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment err = NativeErrors.allocate(arena);
            MemorySegment buildInfo = ibot4j_build_info.allocate(arena);
            NativeErrors.check(Ibot4jC.ibot4j_build_info_get(buildInfo, err, NativeErrors.BUFFER_BYTES), err, "build info");
            int abi = ibot4j_build_info.abi_version(buildInfo);
            if (abi != ABI_VERSION) {
                throw new NativeLibraryException(library + " implements C ABI " + abi + " but this ibot4j expects "
                        + ABI_VERSION + "; rebuild the native library from the same checkout (ci/build-native), or use "
                        + "the ibot4j-native jar of the same ibot4j version.");
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
                    ibot4j_build_info.num_threads(buildInfo), ibot4j_build_info.cpu_native_bf16(buildInfo) != 0, torchConfig);
        }
    }
}
