package org.ibot4j.trainer.run.running;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Says early what a run will cost: the median time of a few steps after warm-up gives the time of an
 * epoch and of the steps left, beside the process's peak resident memory so far. So a user who picked
 * too big a configuration knows within seconds, not after an epoch. The first two steps of a process
 * are left out: they pay for warm-up (the demo's second step took 1.04 s, its median step 0.43 s, and an
 * estimate from it said 15 minutes for a run of 6.6).
 */
public final class RunEstimate {
    private static final Logger LOG = LoggerFactory.getLogger(RunEstimate.class);
    /** Steps measured before the estimate; a slow configuration is told after {@link #PATIENCE_S} instead. */
    static final int SAMPLES = 5;
    static final double PATIENCE_S = 60;
    private final long first, last, itersPerEpoch;
    private final double[] samples = new double[SAMPLES];
    private int count;
    private double waited;
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

    /** Called after every step; logs the estimate once. */
    public void observe(long iteration, double stepSeconds) {
        estimate(iteration, stepSeconds).ifPresent(LOG::info);
    }

    /** The estimate once enough steps after warm-up are measured, empty before and after. */
    Optional<String> estimate(long iteration, double stepSeconds) {
        waited += stepSeconds;
        if (said || iteration < first + 2) return Optional.empty();
        samples[count++] = stepSeconds;
        if (count < SAMPLES && waited < PATIENCE_S && iteration + 1 < last) return Optional.empty();
        said = true;
        double[] measured = Arrays.copyOf(samples, count);
        Arrays.sort(measured);
        double median = count % 2 == 1 ? measured[count / 2] : (measured[count / 2 - 1] + measured[count / 2]) / 2;
        return Optional.of(describe(median, itersPerEpoch, last - iteration - 1, peakResidentBytes()));
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
