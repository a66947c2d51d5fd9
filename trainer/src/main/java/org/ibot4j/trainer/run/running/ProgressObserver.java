package org.ibot4j.trainer.run.running;

import java.io.PrintStream;
import java.util.Locale;
import org.ibot4j.api.StepResult;
import org.ibot4j.trainer.run.reporting.CollapseWatch;
import org.ibot4j.trainer.run.reporting.ProgressBar;

/** The console's progress bar: the step's losses and the collapse watch's word on it. */
final class ProgressObserver implements StepObserver {
    private final ProgressBar bar;
    private final CollapseWatch collapse;

    ProgressObserver(long start, long last, CollapseWatch collapse, PrintStream console) {
        this.bar = new ProgressBar("pretrain", start, last, console);
        this.collapse = collapse;
    }

    @Override
    public void afterStep(Pretraining.Step step, double stepSeconds) {
        StepResult r = step.result();
        bar.update(step.iteration() + 1, String.format(Locale.ROOT, "loss %.3f (cls %.3f, patch %.3f), %s", r.loss(), r.clsLoss(), r.patchLoss(),
                collapse.status(r)));
    }

    @Override
    public void finish(long reached) {
        bar.finish();
    }
}
