package org.ibot4j.trainer.schedule;

import org.ibot4j.api.StepParams;

/**
 * Every per-step scalar of iBOT, as a function of the iteration: lr, weight decay and teacher
 * momentum per iteration (cosine), teacher temperatures per epoch, the last-layer freeze, the
 * backbone's warm-up freeze, and when the Gram teacher is refreshed.
 *
 * @param freezeBackboneEpochs epochs at the start in which only the heads learn
 * @param gramRefreshEvery iterations between Gram teacher refreshes (from the EMA teacher; iteration 0 always
 *        takes the starting backbone), 0 for none after iteration 0, -1 without Gram anchoring
 */
public record Schedules(CosineSchedule lr, CosineSchedule weightDecay, CosineSchedule momentum, TeacherTemperature teacherTemp,
        TeacherTemperature teacherPatchTemp, int freezeLastLayerEpochs, long itersPerEpoch, double clipGrad, int freezeBackboneEpochs,
        long gramRefreshEvery) {

    /** The official schedules: no backbone freeze, no Gram anchoring. */
    public Schedules(CosineSchedule lr, CosineSchedule weightDecay, CosineSchedule momentum, TeacherTemperature teacherTemp,
            TeacherTemperature teacherPatchTemp, int freezeLastLayerEpochs, long itersPerEpoch, double clipGrad) {
        this(lr, weightDecay, momentum, teacherTemp, teacherPatchTemp, freezeLastLayerEpochs, itersPerEpoch, clipGrad, 0, -1);
    }

    public int epochOf(long iteration) {
        return (int) (iteration / itersPerEpoch);
    }

    public StepParams at(long iteration) {
        int epoch = epochOf(iteration);
        boolean gramRefresh = gramRefreshEvery >= 0 && (iteration == 0 || (gramRefreshEvery > 0 && iteration % gramRefreshEvery == 0));
        return new StepParams(lr.at(iteration), weightDecay.at(iteration), momentum.at(iteration), teacherTemp.at(epoch),
                teacherPatchTemp.at(epoch), epoch < freezeLastLayerEpochs, clipGrad, epoch < freezeBackboneEpochs, gramRefresh);
    }

    /** Whether {@code iteration} is in the backbone's warm-up freeze (the heads alone learn). */
    public boolean backboneFrozen(long iteration) {
        return epochOf(iteration) < freezeBackboneEpochs;
    }
}
