package org.ibot4j.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** Thread counts past what the process may use are refused with a sentence, before LibTorch or libgomp sees them. */
class ProcessLimitsTest {
    @Test
    void aThreadCountAboveTheCpusIsRefusedNamingTheBoundAndTheOverride() {
        int cpus = CpuTopology.logicalCpus();
        // 100,000 crashed in libc (hs_err) and 20,000 ended the process inside libgomp before this bound.
        assertThatThrownBy(() -> Encoder.Options.defaults().threads(100_000))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("threads 100000 is more than the " + cpus + " CPUs this process may use")
                .hasMessageContaining(ProcessLimits.MAX_THREADS_ENV + "=100000");
        assertThat(Encoder.Options.defaults().threads(cpus).threads()).isEqualTo(cpus);
    }

    @Test
    void theSystemPropertyRaisesTheBound() {
        String before = System.getProperty("ibot4j.maxThreads");
        try {
            System.setProperty("ibot4j.maxThreads", "64");
            assertThat(ProcessLimits.maxThreads()).isEqualTo(64);
            ProcessLimits.checkThreads(64, "--threads");
            assertThatThrownBy(() -> ProcessLimits.checkThreads(65, "--threads")).hasMessageStartingWith("--threads 65 is more than the 64");
        } finally {
            if (before == null) System.clearProperty("ibot4j.maxThreads"); else System.setProperty("ibot4j.maxThreads", before);
        }
    }

    @Test
    void theLimitsSentenceNamesWhatBoundsThreads() {
        assertThat(ProcessLimits.threadLimits()).contains("kernel threads-max ");
        assertThat(ProcessLimits.threadStartFailure(new OutOfMemoryError("unable to create native thread")))
                .contains("could not start a thread (unable to create native thread)").contains("--threads, --workers");
    }
}
