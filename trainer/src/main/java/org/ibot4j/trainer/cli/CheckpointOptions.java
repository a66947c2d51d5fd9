package org.ibot4j.trainer.cli;

import java.io.IOException;
import java.nio.file.Path;
import org.ibot4j.api.CpuTopology;
import org.ibot4j.api.Network;
import org.ibot4j.api.ProcessLimits;
import org.ibot4j.trainer.run.CheckpointStore;
import picocli.CommandLine.Option;

/** The options of every command that reads a checkpoint: which file (or run folder), which network, how many threads. */
final class CheckpointOptions {
    @Option(names = "--checkpoint", required = true, paramLabel = "FILE|RUN", description = "a checkpoint, or a run folder (its newest checkpoint)")
    Path checkpoint;

    @Option(names = {"--which", "--network"}, description = "network: ${COMPLETION-CANDIDATES}")
    Network which = Network.TEACHER;

    @Option(names = "--threads", description = "LibTorch intra-op threads (0: the physical cores, not hyperthreads)")
    int threads = 0;

    /** The checkpoint file: the one given, or the newest readable one of a run folder. */
    Path file() throws IOException {
        return CheckpointStore.resolve(checkpoint);
    }

    /** 0 means one LibTorch thread per core; more than the CPUs this process may use is refused. */
    int threads() {
        if (threads < 0) throw new IllegalArgumentException("--threads must be >= 0 (0: the physical cores), got " + threads);
        ProcessLimits.checkThreads(threads, "--threads");
        return threads > 0 ? threads : CpuTopology.defaultThreads();
    }
}
