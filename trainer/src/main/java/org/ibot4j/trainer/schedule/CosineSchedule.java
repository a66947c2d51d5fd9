package org.ibot4j.trainer.schedule;

/**
 * The official {@code cosine_scheduler}: a linear warm-up (numpy linspace from {@code warmupStart} to
 * {@code base}, both ends included) over {@code warmupIters}, then
 * {@code final + (base - final) / 2 * (1 + cos(pi * i / n))} for i in [0, n).
 */
public final class CosineSchedule {
    private final double base, finalValue, warmupStart;
    private final long totalIters, warmupIters;

    public CosineSchedule(double base, double finalValue, long totalIters, long warmupIters, double warmupStart) {
        if (totalIters <= 0 || warmupIters < 0 || warmupIters > totalIters) {
            throw new IllegalArgumentException("need 0 <= warmup iterations (" + warmupIters + ") <= total (" + totalIters + ") and total > 0");
        }
        this.base = base;
        this.finalValue = finalValue;
        this.totalIters = totalIters;
        this.warmupIters = warmupIters;
        this.warmupStart = warmupStart;
    }

    public double at(long iteration) {
        if (iteration < 0 || iteration >= totalIters) {
            throw new IllegalArgumentException("iteration " + iteration + " outside [0, " + totalIters + ")");
        }
        if (iteration < warmupIters) {
            return warmupIters == 1 ? warmupStart : warmupStart + (base - warmupStart) * iteration / (double) (warmupIters - 1);
        }
        long n = totalIters - warmupIters;
        long i = iteration - warmupIters;
        return finalValue + 0.5 * (base - finalValue) * (1 + Math.cos(Math.PI * i / n));
    }

    public long totalIters() {
        return totalIters;
    }
}
