package org.ibot4j.trainer.schedule;

/**
 * Per-epoch teacher temperature: numpy linspace(warmup, target, warmupEpochs) then constant; an
 * optional hold at the warm-up value for {@code holdEpochs} first (patch temperature with pred_start_epoch).
 */
public record TeacherTemperature(double warmup, double target, int warmupEpochs, int holdEpochs) {
    public double at(int epoch) {
        int e = epoch - holdEpochs;
        if (e < 0) return warmup;
        if (e >= warmupEpochs) return target;
        return warmupEpochs == 1 ? warmup : warmup + (target - warmup) * e / (double) (warmupEpochs - 1);
    }
}
