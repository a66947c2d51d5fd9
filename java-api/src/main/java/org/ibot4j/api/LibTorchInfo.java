package org.ibot4j.api;

import java.nio.file.Path;

/**
 * What was loaded: the shim's path, the LibTorch version it was compiled against and the one
 * actually loaded (they must agree), CUDA visibility and intra-op threads.
 */
public record LibTorchInfo(
        Path library, String compiledVersion, String loadedVersion, boolean cudaAvailable, int threads, String torchConfig) {}
