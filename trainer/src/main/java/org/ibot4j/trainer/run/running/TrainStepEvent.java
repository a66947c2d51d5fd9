package org.ibot4j.trainer.run.running;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Event;
import jdk.jfr.Frequency;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;
import jdk.jfr.Timespan;
import org.ibot4j.api.StepParams;
import org.ibot4j.api.StepResult;

/**
 * One training step for JDK Flight Recorder ({@code -XX:StartFlightRecording}): the same numbers as
 * the step's row in {@code metrics.jsonl}, so a recording lines up with GC, allocation and thread
 * events. Costs nothing when no recording asks for it: the trainer fills it only when enabled.
 */
@Name("org.ibot4j.TrainStep")
@Category("ibot4j")
@Label("Train Step")
@Description("One iBOT optimiser step: time waiting for the batch, time of the whole step, losses, schedule values and collapse metrics")
@StackTrace(false)
final class TrainStepEvent extends Event {
    @Label("Step")
    @Description("Iteration number, counted from the start of the run (0-based)")
    long step;

    @Label("Epoch")
    int epoch;

    @Label("Data Wait")
    @Description("Time the training loop waited for the loader's batch")
    @Timespan(Timespan.NANOSECONDS)
    long dataWait;

    @Label("Step Time")
    @Description("Wall time from the end of the previous step to the end of this one (data wait, step, metrics)")
    @Timespan(Timespan.NANOSECONDS)
    long stepTime;

    @Label("Loss")
    @Description("Total iBOT loss (lambda1 * cls + lambda2 * patch); NaN when not finite")
    double loss;

    @Label("CLS Loss")
    double clsLoss;

    @Label("Patch Loss")
    double patchLoss;

    @Label("Finite")
    @Description("False when the loss or gradient norm was not finite and the step updated nothing")
    boolean finite;

    @Label("Gradient Norm")
    double gradNorm;

    @Label("Images per Second")
    @Description("Global batch divided by the step time")
    @Frequency
    double imagesPerSecond;

    @Label("Learning Rate")
    double lr;

    @Label("KoLeo Loss")
    @Description("DINOv2's KoLeo term, koleo_loss_weight applied (0 when off)")
    double koleoLoss;

    @Label("Teacher CLS Entropy")
    @Description("Mean entropy (nats) of the teacher's [CLS] targets; ln(out_dim) when uniform")
    double teacherClsEntropy;

    @Label("Teacher Patch Entropy")
    @Description("Mean entropy (nats) of the teacher's targets of the masked patch tokens; NaN when none was masked")
    double teacherPatchEntropy;

    @Label("Prototypes Used")
    @Description("Prototypes that are the argmax of at least one global crop's [CLS] target")
    int prototypesUsed;

    @Label("Effective Rank")
    @Description("exp(entropy of the normalised singular values) of the teacher's [CLS] embeddings of the batch")
    double effectiveRank;

    /** Commits one event when a recording has this event enabled; otherwise nothing is allocated beyond the probe. */
    static void record(long step, int epoch, double dataWaitSeconds, double stepSeconds, StepParams params, StepResult result,
            double imagesPerSecond) {
        TrainStepEvent e = new TrainStepEvent();
        if (!e.isEnabled()) return;
        e.step = step;
        e.epoch = epoch;
        e.dataWait = Math.round(dataWaitSeconds * 1e9);
        e.stepTime = Math.round(stepSeconds * 1e9);
        e.loss = result.loss();
        e.clsLoss = result.clsLoss();
        e.patchLoss = result.patchLoss();
        e.finite = result.finite();
        e.gradNorm = result.gradNorm();
        e.imagesPerSecond = imagesPerSecond;
        e.lr = params.lr();
        e.koleoLoss = result.koleoLoss();
        e.teacherClsEntropy = result.teacherClsEntropy();
        e.teacherPatchEntropy = result.teacherPatchEntropy();
        e.prototypesUsed = result.prototypesUsed();
        e.effectiveRank = result.effectiveRank();
        e.commit();
    }
}
