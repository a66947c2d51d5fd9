package org.ibot4j.trainer.run.running;

import java.io.IOException;
import java.nio.file.Path;
import org.ibot4j.api.IbotModel;
import org.ibot4j.trainer.run.checkpoints.CheckpointMetadata;
import org.ibot4j.trainer.run.checkpoints.CheckpointStore;
import org.ibot4j.trainer.run.reporting.RunReporter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Checkpoints every N steps, at the end and where a run is cancelled; after each, the caller's
 * listener, the checkpoint's figures and the report. At the very end the loss curve, and the report
 * once more when the run stopped after its last checkpoint (the last checkpoint's report is complete).
 */
final class CheckpointObserver implements StepObserver {
    private static final Logger LOG = LoggerFactory.getLogger(CheckpointObserver.class);
    private final CheckpointStore store;
    private final IbotModel model;
    private final CheckpointMetadata metadata;
    private final RunReporter reporter;
    private final Pretraining.Listener listener;
    private final long every, last;
    private Path written;
    private long reportedAt = -1;

    /**
     * @param every steps between checkpoints
     * @param last the iteration the run ends at (always checkpointed)
     */
    CheckpointObserver(CheckpointStore store, IbotModel model, CheckpointMetadata metadata, RunReporter reporter, Pretraining.Listener listener,
            long every, long last) {
        this.store = store;
        this.model = model;
        this.metadata = metadata;
        this.reporter = reporter;
        this.listener = listener;
        this.every = every;
        this.last = last;
    }

    @Override
    public void afterStep(Pretraining.Step step, double stepSeconds) throws IOException {
        long done = step.iteration() + 1;
        if (done % every == 0 || done == last) save(done, "checkpoint {} written");
    }

    @Override
    public void afterLoop(long reached) throws IOException {
        // Cancelled at a step boundary: the steps done so far are kept like any checkpoint's.
        if (reached < last && reportedAt != reached) save(reached, "cancelled at iteration " + reached + ": checkpoint {} written");
    }

    @Override
    public void finish(long reached) {
        reporter.curve();
        if (reportedAt != reached) reporter.report();  // a run that stopped early; the last checkpoint's is complete
    }

    /** The newest checkpoint this run wrote, null before the first. */
    Path written() {
        return written;
    }

    private void save(long iteration, String message) throws IOException {
        written = store.save(model, iteration, metadata.at(iteration));
        LOG.info(message, written);
        listener.onCheckpoint(written, iteration);
        reporter.afterCheckpoint(model, iteration, store.kept());
        reportedAt = iteration;
    }
}
