package org.ibot4j.trainer.schedule;

import org.ibot4j.api.StepParams;

/**
 * Every per-step scalar of iBOT, as a function of the iteration: lr, weight decay and teacher
 * momentum per iteration (cosine), teacher temperatures per epoch, and the last-layer freeze.
 */
public record Schedules(CosineSchedule lr, CosineSchedule weightDecay, CosineSchedule momentum, TeacherTemperature teacherTemp,
        TeacherTemperature teacherPatchTemp, int freezeLastLayerEpochs, long itersPerEpoch, double clipGrad) {

    public int epochOf(long iteration) {
        return (int) (iteration / itersPerEpoch);
    }

    public StepParams at(long iteration) {
        int epoch = epochOf(iteration);
        return new StepParams(lr.at(iteration), weightDecay.at(iteration), momentum.at(iteration), teacherTemp.at(epoch),
                teacherPatchTemp.at(epoch), epoch < freezeLastLayerEpochs, clipGrad);
    }
}
