package org.ibot4j.api;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.ibot4j.api.NativeLibrary.Lookup;
import org.ibot4j.api.NativeLibrary.Trace;

/**
 * Where LibTorch is, by the rules {@link NativeLibrary} documents: {@code LIBTORCH}, {@code LIBTORCH_USE_PYTORCH=1},
 * then the repository and user caches; each rule's outcome goes into the trace that {@code ./ibot4j doctor} prints.
 */
final class LibTorchSearch {
    /** LibTorch's libraries in dependency order; the CUDA ones are loaded only when present. */
    static final List<String> LIBTORCH_LIBRARIES =
            List.of("libc10.so", "libc10_cuda.so", "libtorch_cpu.so", "libtorch_cuda.so", "libtorch.so");
    static final List<String> LIBTORCH_REQUIRED = List.of("libc10.so", "libtorch_cpu.so", "libtorch.so");

    private LibTorchSearch() {}

    /** The LibTorch lib folder the rules pick, or {@code null} when no rule applies; {@code problem} when a rule is set but broken. */
    record LibTorchChoice(Path libDir, String rule, String problem) {
        /** The files to System.load, in dependency order. */
        List<Path> libraries() {
            List<Path> out = new ArrayList<>();
            if (libDir == null) return out;
            for (String name : LIBTORCH_LIBRARIES) {
                Path p = libDir.resolve(name);
                if (Files.isRegularFile(p)) out.add(p);
            }
            return out;
        }
    }

    static LibTorchChoice findLibTorch(Lookup lookup, Trace trace) {
        return findLibTorch(lookup, trace, true);
    }

    /** A rule the user set explicitly: its folder is used, or it is an error (never skipped silently). */
    static LibTorchChoice explicitRule(Trace trace, String rule, String described, Path lib,
            Function<String, String> fix) {
        String missing = missing(lib);
        if (missing == null) {
            trace.add("LibTorch: " + described + ": looked at " + lib + ": found, used");
            return new LibTorchChoice(lib, rule, null);
        }
        trace.add("LibTorch: " + described + ": looked at " + lib + ": not found (" + missing + " missing)");
        return new LibTorchChoice(null, rule, fix.apply(missing));
    }

    /**
     * The rules in order. {@code consultCaches} is false for a library given by path or built by
     * ci/build-native: its RUNPATH names the LibTorch it was built against, so only an explicit
     * LIBTORCH / LIBTORCH_USE_PYTORCH overrides it (a CUDA build must not pick up a CPU LibTorch cache).
     */
    static LibTorchChoice findLibTorch(Lookup lookup, Trace trace, boolean consultCaches) {
        String libtorch = lookup.var("LIBTORCH");
        if (libtorch != null) {
            Path lib = Path.of(libtorch).resolve("lib");
            return explicitRule(trace, "LIBTORCH", "LIBTORCH=" + libtorch, lib, missing -> "LIBTORCH=" + libtorch
                    + " does not look like LibTorch (" + lib + " lacks " + missing
                    + "); point LIBTORCH at the unpacked LibTorch folder (official zip layout, with lib/) or unset it.");
        }
        trace.add("LibTorch: LIBTORCH: not set");
        if ("1".equals(lookup.var("LIBTORCH_USE_PYTORCH"))) {
            String python = lookup.var("PYTHON") != null ? lookup.var("PYTHON") : "python3";
            String torchDir;
            try {
                torchDir = pythonTorchDir(python);
            } catch (IOException e) {
                trace.add("LibTorch: LIBTORCH_USE_PYTORCH=1: '" + python + " -c \"import torch\"' failed: " + e.getMessage());
                return new LibTorchChoice(null, "LIBTORCH_USE_PYTORCH", "LIBTORCH_USE_PYTORCH=1 but '" + python
                        + " -c \"import torch\"' failed (" + e.getMessage() + "); install torch for that Python, set PYTHON to one that has it, or unset LIBTORCH_USE_PYTORCH.");
            }
            Path lib = Path.of(torchDir).resolve("lib");
            return explicitRule(trace, "LIBTORCH_USE_PYTORCH", "LIBTORCH_USE_PYTORCH=1 (" + python + ")", lib,
                    missing -> "LIBTORCH_USE_PYTORCH=1 but the torch package of " + python + " has no " + lib.resolve(missing)
                            + "; reinstall torch or unset LIBTORCH_USE_PYTORCH.");
        }
        trace.add("LibTorch: LIBTORCH_USE_PYTORCH: not set");
        if (!consultCaches) {
            trace.add("LibTorch: caches not consulted: libibot4j was found by path, so its RUNPATH (recorded by "
                    + "ci/build-native) and LD_LIBRARY_PATH decide; set LIBTORCH to override");
            return new LibTorchChoice(null, null, null);
        }
        List<Path> caches = List.of(lookup.root().resolve(".cache").resolve("libtorch"), lookup.cacheDir().resolve("libtorch"));
        List<String> names = List.of("repository cache under ibot4j.root or the working directory", "user cache");
        for (int i = 0; i < caches.size(); i++) {
            Path lib = caches.get(i).resolve("lib");
            String missing = missing(lib);
            if (missing == null) {
                trace.add("LibTorch: looked at " + lib + " (" + names.get(i) + "): found, used");
                return new LibTorchChoice(lib, names.get(i), null);
            }
            trace.add("LibTorch: looked at " + lib + " (" + names.get(i) + "): not found");
        }
        trace.add("LibTorch: no rule found LibTorch; libibot4j's RUNPATH and LD_LIBRARY_PATH decide");
        return new LibTorchChoice(null, null, null);
    }

    /** The first required LibTorch library missing from {@code lib}, or null when all are there. */
    static String missing(Path lib) {
        for (String name : LIBTORCH_REQUIRED) {
            if (!Files.isRegularFile(lib.resolve(name))) return name;
        }
        return null;
    }

    static String pythonTorchDir(String python) throws IOException {
        Process p = new ProcessBuilder(python, "-c", "import torch, os; print(os.path.dirname(torch.__file__))")
                .redirectErrorStream(true)
                .start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        try {
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException("timed out");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted");
        }
        if (p.exitValue() != 0 || out.isEmpty()) {
            String last = out.lines().reduce((a, b) -> b).orElse("");
            throw new IOException("exit " + p.exitValue() + (last.isEmpty() ? "" : ": " + last));
        }
        return out.lines().reduce((a, b) -> b).orElseThrow();
    }
}
