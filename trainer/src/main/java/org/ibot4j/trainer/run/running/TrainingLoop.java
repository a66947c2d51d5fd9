package org.ibot4j.trainer.run.running;

import java.util.function.BooleanSupplier;
import org.ibot4j.api.IbotModel;
import org.ibot4j.api.StepParams;
import org.ibot4j.api.StepResult;
import org.ibot4j.trainer.data.MultiCropLoader;
import org.ibot4j.trainer.schedule.Schedules;

/**
 * The core of pretraining: for each iteration, the loader's next batch and that iteration's scalars
 * go to {@code train_step}. Stateless apart from the model and the loader, so stopping after any
 * iteration and resuming from a checkpoint plus the loader's batch number repeats the same steps.
 */
public final class TrainingLoop {
    /** Called after every step: the iteration, the scalars it used, its result and the time spent waiting for its batch. */
    public interface Listener {
        void afterStep(long iteration, StepParams params, StepResult result, double dataWaitSeconds);
    }

    private final IbotModel model;
    private final MultiCropLoader loader;
    private final Schedules schedules;
    private final int maxNonFiniteInARow;

    public TrainingLoop(IbotModel model, MultiCropLoader loader, Schedules schedules, int maxNonFiniteInARow) {
        this.model = model;
        this.loader = loader;
        this.schedules = schedules;
        this.maxNonFiniteInARow = maxNonFiniteInARow;
    }

    /** Runs iterations [from, to); the loader must be positioned at batch {@code from}. */
    public void run(long from, long to, Listener listener) {
        run(from, to, listener, () -> false);
    }

    /**
     * Runs iterations [from, to) or until {@code stop} says so at a step boundary (asked before each step).
     *
     * @return the iteration reached: {@code to}, or the first one not run
     */
    public long run(long from, long to, Listener listener, BooleanSupplier stop) {
        int nonFinite = 0;
        for (long it = from; it < to; it++) {
            if (stop.getAsBoolean()) return it;
            long waitStart = System.nanoTime();
            MultiCropLoader.Loaded batch = loader.next();
            double waited = (System.nanoTime() - waitStart) / 1e9;
            if (batch.batchNumber() != it) {
                throw new IllegalStateException("loader delivered batch " + batch.batchNumber() + " for iteration " + it);
            }
            StepParams params = schedules.at(it);
            StepResult r = model.trainStep(batch.batch(), params);
            nonFinite = r.finite() ? 0 : nonFinite + 1;
            listener.afterStep(it, params, r, waited);
            if (nonFinite >= maxNonFiniteInARow) {
                throw new IllegalStateException(nonFinite + " non-finite losses in a row up to iteration " + it
                        + "; nothing was updated by them. Lower the learning rate or check the data; the last checkpoint is intact.");
            }
        }
        return to;
    }
}
