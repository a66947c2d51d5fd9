package org.ibot4j.api;

/**
 * The scalars one training step uses, chosen by the caller's schedules: learning rate, weight decay
 * (on the regularised group only), teacher EMA momentum, teacher temperatures, whether the last layer
 * is frozen this step, and the per-parameter gradient clip (0 disables).
 *
 * @param lr learning rate, finite and >= 0
 * @param weightDecay AdamW weight decay of the regularised group (weights with 2 or more dimensions), >= 0
 * @param teacherMomentum EMA momentum m in [0, 1]: teacher = m * teacher + (1 - m) * student
 * @param teacherTemp teacher [CLS] softmax temperature, > 0
 * @param teacherPatchTemp teacher patch softmax temperature, > 0
 * @param freezeLastLayer whether the heads' last layers skip this step's update
 * @param clipGrad per-parameter gradient norm clip, 0 disables
 * @param freezeBackbone whether only the heads learn this step: student and teacher backbones stay bit for bit as they are
 * @param gramRefresh whether the Gram teacher (models with gram_loss_weight above 0) becomes a copy of the EMA teacher's
 *        backbone before this step
 */
public record StepParams(
        double lr,
        double weightDecay,
        double teacherMomentum,
        double teacherTemp,
        double teacherPatchTemp,
        boolean freezeLastLayer,
        double clipGrad,
        boolean freezeBackbone,
        boolean gramRefresh) {

    /** A step that trains the whole model and leaves any Gram teacher as it is. */
    public StepParams(double lr, double weightDecay, double teacherMomentum, double teacherTemp, double teacherPatchTemp,
            boolean freezeLastLayer, double clipGrad) {
        this(lr, weightDecay, teacherMomentum, teacherTemp, teacherPatchTemp, freezeLastLayer, clipGrad, false, false);
    }

    public StepParams {
        // Built every step: the valid case allocates nothing; messages only on failure.
        boolean valid = lr >= 0 && Double.isFinite(lr) && weightDecay >= 0 && Double.isFinite(weightDecay)
                && teacherMomentum >= 0 && teacherMomentum <= 1 && teacherTemp > 0 && teacherPatchTemp > 0 && clipGrad >= 0;
        if (!valid) describeProblems(lr, weightDecay, teacherMomentum, teacherTemp, teacherPatchTemp, clipGrad);
    }

    private static void describeProblems(double lr, double weightDecay, double teacherMomentum, double teacherTemp,
            double teacherPatchTemp, double clipGrad) {
        Problems p = new Problems();
        p.require(lr >= 0 && Double.isFinite(lr), "lr must be finite and >= 0, got " + lr);
        p.require(weightDecay >= 0 && Double.isFinite(weightDecay), "weight_decay must be finite and >= 0, got " + weightDecay);
        p.inRange("teacher_momentum", teacherMomentum, 0, 1);
        p.positive("teacher_temp", teacherTemp).positive("teacher_patch_temp", teacherPatchTemp);
        p.require(clipGrad >= 0, "clip_grad must be >= 0 (0 disables), got " + clipGrad);
        p.throwIfAny("step parameters");
    }
}
