package org.ibot4j.api;

import java.nio.file.Path;

/**
 * What was loaded: the shim's path, the LibTorch version it was compiled against and the one
 * actually loaded (they must agree), CUDA visibility and intra-op threads.
 *
 * @param library the libibot4j file that was loaded
 * @param compiledVersion the LibTorch version libibot4j was compiled against
 * @param loadedVersion the LibTorch version loaded at run time
 * @param cudaAvailable whether LibTorch sees a CUDA device
 * @param threads LibTorch's intra-op threads
 * @param cpuNativeBf16 whether this CPU has bf16 instructions (avx512_bf16 or AMX-BF16): bf16 autocast pays off
 * @param torchConfig LibTorch's own description of its build ({@code at::show_config()})
 */
public record LibTorchInfo(
        Path library, String compiledVersion, String loadedVersion, boolean cudaAvailable, int threads, boolean cpuNativeBf16,
        String torchConfig) {}
