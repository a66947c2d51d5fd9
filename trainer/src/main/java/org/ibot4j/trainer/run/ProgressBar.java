package org.ibot4j.trainer.run;

import java.io.PrintStream;
import java.util.Locale;

/** A one-line progress bar with ETA on a terminal; periodic plain lines when output is not a terminal. */
public final class ProgressBar {
    private final String label;
    private final long first, total;
    private final long started = System.nanoTime();
    private final boolean terminal;
    private final PrintStream out;
    private long lastPrint;

    /** A bar on standard error, for the commands. */
    public ProgressBar(String label, long total) {
        this(label, 0, total, System.err);
    }

    /**
     * A bar for items [first, total) on {@code out}: a resumed run's ETA counts only the items done in this
     * process. It redraws one line only on a terminal (a standard stream while the JVM has a console).
     */
    public ProgressBar(String label, long first, long total, PrintStream out) {
        this.label = label;
        this.first = first;
        this.total = total;
        this.out = out;
        this.terminal = System.console() != null && (out == System.out || out == System.err);
    }

    public void update(long done, String status) {
        long now = System.nanoTime();
        boolean due = terminal ? now - lastPrint > 200_000_000L : now - lastPrint > 10_000_000_000L;
        if (!due && done != total) return;
        lastPrint = now;
        double elapsed = (now - started) / 1e9;
        double eta = done <= first ? 0 : elapsed * (total - done) / (done - first);
        int width = 30, filled = (int) (width * done / Math.max(1, total));
        String line = String.format(Locale.ROOT, "%s [%s%s] %d/%d %s, %.0fs elapsed, ETA %.0fs", label,
                "#".repeat(filled), ".".repeat(width - filled), done, total, status, elapsed, eta);
        if (terminal) {
            out.print("\r" + line);
        } else {
            out.println(line);
        }
    }

    public void finish() {
        if (terminal) out.println();
    }
}
