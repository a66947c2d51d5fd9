package org.ibot4j.trainer.run.running;

import java.io.IOException;
import java.util.function.LongSupplier;
import org.ibot4j.api.StepParams;
import org.ibot4j.api.StepResult;
import org.ibot4j.trainer.run.reporting.CollapseWatch;
import org.ibot4j.trainer.run.reporting.MetricsLog;
import org.ibot4j.trainer.run.reporting.MetricsRow;

/** Each step's row of {@code metrics.jsonl} and {@code metrics.csv}. */
final class MetricsRecorder implements StepObserver {
    private final MetricsLog log;
    private final CollapseWatch collapse;
    private final LongSupplier skippedImages;

    /**
     * @param log the run's metrics files
     * @param collapse the watch that gives the prototype share
     * @param skippedImages unreadable images the loader skipped so far
     */
    MetricsRecorder(MetricsLog log, CollapseWatch collapse, LongSupplier skippedImages) {
        this.log = log;
        this.collapse = collapse;
        this.skippedImages = skippedImages;
    }

    @Override
    public void afterStep(Pretraining.Step s, double stepSeconds) throws IOException {
        StepParams p = s.params();
        StepResult r = s.result();
        log.append(new MetricsRow(s.iteration(), s.epoch(), r.loss(), r.clsLoss(), r.patchLoss(), p.lr(), p.weightDecay(), p.teacherMomentum(),
                p.teacherTemp(), p.teacherPatchTemp(), r.gradNorm(), s.imagesPerSecond(), s.dataWaitSeconds(), stepSeconds,
                r.finite(), skippedImages.getAsLong(), r.koleoLoss(), r.teacherClsEntropy(), r.teacherPatchEntropy(),
                r.prototypesUsed(), collapse.prototypeShare(r), r.effectiveRank(), r.gramLoss(), p.freezeBackbone(), r.distillLoss()));
    }
}
