package org.ibot4j.trainer;

import java.io.PrintStream;
import org.ibot4j.api.LibTorchInfo;
import org.ibot4j.api.NativeLibrary;
import org.ibot4j.api.NativeLibraryException;

/** {@code ./ibot4j doctor}: what Java, native library and LibTorch this setup uses, and whether it loads. */
final class Doctor {
    private Doctor() {}

    static int run(PrintStream out) {
        out.println("java: " + Runtime.version() + " at " + System.getProperty("java.home"));
        out.println("native library search order:");
        for (String place : NativeLibrary.searchedLocations()) out.println("  " + place);
        try {
            LibTorchInfo info = NativeLibrary.load();
            out.println("loaded: " + info.library());
            out.println("LibTorch: compiled against " + info.compiledVersion() + ", loaded " + info.loadedVersion());
            out.println("intra-op threads: " + info.threads() + " (cores: " + Runtime.getRuntime().availableProcessors() + ")");
            out.println("CUDA: " + (info.cudaAvailable() ? "available" : "not available (CPU only)"));
            out.println("status: OK");
            return 0;
        } catch (NativeLibraryException e) {
            out.println("status: PROBLEM");
            out.println(e.getMessage());
            return 1;
        }
    }
}
