package org.ibot4j.trainer.cli;

import org.ibot4j.api.CpuTopology;
import org.ibot4j.api.LibTorchInfo;
import org.ibot4j.api.NativeLibrary;
import org.ibot4j.api.NativeLibraryException;
import org.ibot4j.trainer.data.TurboJpeg;
import picocli.CommandLine.Command;

/** {@code ibot4j doctor}: what Java, native library and LibTorch this setup uses, and whether it loads. */
@Command(name = "doctor", header = "check the JDK, the native library and LibTorch", mixinStandardHelpOptions = true,
        description = {"Shows the JDK, each place libibot4j and LibTorch are looked for and what was found there, the",
                "LibTorch version check, threads, CUDA and the JPEG decoder (libjpeg-turbo, or ImageIO without it);",
                "exits 1 with the reason and the fix when something is missing."})
final class DoctorCommand extends Ibot4jCommand {
    @Override
    public Integer call() {
        out.println("java: " + Runtime.version() + " at " + System.getProperty("java.home"));
        LibTorchInfo info = null;
        NativeLibraryException problem = null;
        try {
            info = NativeLibrary.load();
        } catch (NativeLibraryException e) {
            problem = e;
        }
        out.println("steps:");
        for (String step : NativeLibrary.diagnose()) out.println("  " + step);
        // Optional: without libjpeg-turbo, JPEGs are decoded by ImageIO (slower), so this is never a PROBLEM.
        out.println("JPEG decoder: " + TurboJpeg.availability().description());
        if (problem != null) {
            out.println("status: PROBLEM");
            out.println(problem.getMessage());
            return 1;
        }
        out.println("loaded: " + info.library());
        out.println("LibTorch: compiled against " + info.compiledVersion() + ", loaded " + info.loadedVersion());
        out.println("intra-op threads: " + info.threads() + " (LibTorch's own default); ibot4j's --threads 0 uses " + CpuTopology.defaultThreads()
                + ": " + CpuTopology.describe());
        out.println("CUDA: " + (info.cudaAvailable() ? "available" : "not available (CPU only)"));
        out.println("CPU bf16: " + (info.cpuNativeBf16()
                ? "native (avx512_bf16 or AMX): --bf16 speeds up training on this CPU"
                : "not native: --bf16 on this CPU would be emulated and slower (refused unless --force_bf16)"));
        out.println("status: OK");
        return 0;
    }
}
