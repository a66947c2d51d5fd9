package org.ibot4j.trainer.run.running;

import java.io.IOException;

/**
 * One concern of a run that follows it step by step (metrics, progress, the collapse watch, the k-NN
 * monitor, checkpoints), as DJL's {@code TrainingListener}s follow a DJL trainer. The run calls its
 * observers in a fixed order after each step, again when the loop stopped, and last when the run ends.
 */
@FunctionalInterface
interface StepObserver {
    /**
     * After each step of this process.
     *
     * @param step the step as the run logs it
     * @param stepSeconds its wall time, the wait for its batch included
     */
    void afterStep(Pretraining.Step step, double stepSeconds) throws IOException;

    /** The loop stopped without an error at {@code reached}: the schedule's end, {@code max_steps} or a cancel. */
    default void afterLoop(long reached) throws IOException {}

    /**
     * The run ends, after an error too (then {@code reached} is the iteration it started at). Must not
     * throw: it must never replace the exception that ended the run.
     */
    default void finish(long reached) {}
}
