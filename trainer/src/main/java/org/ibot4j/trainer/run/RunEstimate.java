package org.ibot4j.trainer.run;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Says early what a run will cost: once the second step of this process is done (the first pays for
 * warm-up), the measured step time gives the time of an epoch and of the steps left, beside the
 * process's peak resident memory so far. So a user who picked too big a configuration knows within
 * seconds, not after an epoch.
 */
public final class RunEstimate {
    private static final Logger LOG = LoggerFactory.getLogger(RunEstimate.class);
    private final long first, last, itersPerEpoch;
    private boolean said;

    /**
     * @param first the first iteration this process runs
     * @param last the iteration the run ends at
     * @param itersPerEpoch steps in an epoch
     */
    public RunEstimate(long first, long last, long itersPerEpoch) {
        this.first = first;
        this.last = last;
        this.itersPerEpoch = itersPerEpoch;
    }

    /** Called after every step; logs the estimate once, after the second step of this process. */
    public void observe(long iteration, double stepSeconds) {
        if (said || iteration < first + 1) return;
        said = true;
        LOG.info(describe(stepSeconds, itersPerEpoch, last - iteration - 1, peakResidentBytes()));
    }

    static String describe(double stepSeconds, long itersPerEpoch, long stepsLeft, long peakBytes) {
        return String.format(Locale.ROOT, "measured %.2f s a step: an epoch of %d steps takes about %s, the %d steps left about %s; "
                        + "peak resident memory so far %s", stepSeconds, itersPerEpoch, duration(stepSeconds * itersPerEpoch), stepsLeft,
                duration(stepSeconds * stepsLeft), peakBytes < 0 ? "unknown" : String.format(Locale.ROOT, "%.1f GiB", peakBytes / (double) (1L << 30)));
    }

    static String duration(double seconds) {
        if (seconds < 90) return String.format(Locale.ROOT, "%.0f s", seconds);
        if (seconds < 90 * 60) return String.format(Locale.ROOT, "%.0f min", seconds / 60);
        if (seconds < 48 * 3600) return String.format(Locale.ROOT, "%.1f h", seconds / 3600);
        return String.format(Locale.ROOT, "%.1f days", seconds / 86400);
    }

    /** The process's peak resident set (Linux: VmHWM), or -1 where the system does not say. */
    public static long peakResidentBytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) return 1024 * Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        } catch (IOException | NumberFormatException e) {
            // not Linux, or an unreadable status: the estimate says "unknown"
        }
        return -1;
    }
}
