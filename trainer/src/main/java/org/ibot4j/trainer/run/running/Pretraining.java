package org.ibot4j.trainer.run.running;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import org.ibot4j.api.DistConfig;
import org.ibot4j.api.StepParams;
import org.ibot4j.api.StepResult;
import org.ibot4j.trainer.data.ImageSource;
import org.ibot4j.trainer.data.ImageSources;
import org.ibot4j.trainer.eval.KnnClassifier;
import org.ibot4j.trainer.run.PretrainOptions;
import org.ibot4j.trainer.run.checkpoints.RunLock;
import org.ibot4j.trainer.run.reporting.AttentionCheckpointFigures;
import org.ibot4j.trainer.run.reporting.CheckpointFigures;

/**
 * Pretraining as a library call: the same run as {@code ibot4j pretrain} (which is a thin layer over
 * this), with options built in Java, images from any {@link ImageSource}, a {@link Listener} for each
 * step's metrics and each checkpoint, cancellation from another thread, and data parallelism through a
 * {@link DistConfig}. It never exits the JVM and keeps no state between runs: runs one after the other
 * in one JVM are independent; a run folder has one writer at a time (see {@link RunLock}).
 *
 * <pre>{@code
 * PretrainOptions options = PretrainOptions.builder().arch(Arch.VIT_TINY).epochs(10).outputDir("runs/a").build();
 * Pretraining run = Pretraining.of(options).data(myImages).listener(myTracker).build();
 * executor.submit(run::run);   // later, from any thread: run.cancel();
 * }</pre>
 */
public final class Pretraining {
    /** What a run tells its caller as it goes; every method is called on the thread that runs it. */
    public interface Listener {
        /**
         * After every optimiser step, on the writing rank.
         *
         * @param step the step's scalars, losses and speed
         */
        default void onStep(Step step) {}

        /**
         * After a checkpoint was written completely (atomically) on the writing rank.
         *
         * @param checkpoint the file
         * @param iteration the steps it holds
         */
        default void onCheckpoint(Path checkpoint, long iteration) {}

        /**
         * After the k-NN monitor ({@code knn_every}) measured the teacher, on the writing rank.
         *
         * @param knn the accuracies and the steps done when measured
         */
        default void onKnn(Knn knn) {}

        /**
         * After a checkpoint's probe figures were drawn (the report's "Probe images"), on the writing rank.
         *
         * @param iteration the steps the checkpoint holds
         * @param figures the figures, possibly none
         */
        default void onFigures(long iteration, List<CheckpointFigures.Figure> figures) {}

        /** Both listeners, {@code first} first, for every call. */
        static Listener both(Listener first, Listener second) {
            return new Listener() {
                @Override
                public void onStep(Step step) {
                    first.onStep(step);
                    second.onStep(step);
                }

                @Override
                public void onCheckpoint(Path checkpoint, long iteration) {
                    first.onCheckpoint(checkpoint, iteration);
                    second.onCheckpoint(checkpoint, iteration);
                }

                @Override
                public void onKnn(Knn knn) {
                    first.onKnn(knn);
                    second.onKnn(knn);
                }

                @Override
                public void onFigures(long iteration, List<CheckpointFigures.Figure> figures) {
                    first.onFigures(iteration, figures);
                    second.onFigures(iteration, figures);
                }
            };
        }
    }

    /**
     * One step as the run logs it.
     *
     * @param iteration the step's index in the run (0-based)
     * @param epoch its epoch
     * @param params the scalars the schedules gave it
     * @param result its losses, gradient norm and finiteness
     * @param imagesPerSecond the global batch over the step's wall time
     * @param dataWaitSeconds time spent waiting for its batch
     */
    public record Step(long iteration, int epoch, StepParams params, StepResult result, double imagesPerSecond, double dataWaitSeconds) {}

    /**
     * How a run ended.
     *
     * @param output the run folder
     * @param checkpoint the newest checkpoint (the iteration reached when cancelled); null on ranks that do not write
     * @param iteration the iteration reached
     * @param lastLoss the last finite step's loss (NaN when none ran)
     * @param knn the k-NN monitor's results by iteration
     * @param cancelled whether {@link #cancel()} stopped it
     */
    public record Result(Path output, Path checkpoint, long iteration, double lastLoss, List<Knn> knn, boolean cancelled) {}

    /**
     * One measurement of the k-NN monitor.
     *
     * @param iteration steps done
     * @param epoch epochs done
     * @param accuracy top-1 and top-5 of the teacher's [CLS] features
     */
    public record Knn(long iteration, int epoch, KnnClassifier.Accuracy accuracy) {}

    private final PretrainOptions options;
    private final ImageSource data, knnMemory, knnQueries;
    private final DistConfig dist;
    private final Listener listener;
    private final PrintStream console;
    private final CheckpointFigures figures;
    private final AtomicBoolean cancelled = new AtomicBoolean();

    private Pretraining(Builder b) {
        this.options = b.options;
        this.data = b.data;
        this.knnMemory = b.knnMemory;
        this.knnQueries = b.knnQueries;
        this.dist = b.dist;
        this.listener = b.listener;
        this.console = b.console;
        this.figures = b.figures;
    }

    /**
     * A run of these options; data and output come from {@code options} unless the builder names them.
     *
     * @param options e.g. from {@link PretrainOptions#builder()}
     * @return the builder
     */
    public static Builder of(PretrainOptions options) {
        return new Builder(options);
    }

    /**
     * Trains until the schedule's end, {@code max_steps}, or a {@link #cancel()}; resumes from the output
     * folder's newest checkpoint as the CLI does.
     *
     * @return where it stopped; {@link Result#cancelled()} when cancelled (a checkpoint of the step reached is written)
     * @throws IOException when the data or the output folder fail
     */
    public Result run() throws IOException {
        return Pretrainer.run(options, dist, console, figures, new Hooks(data, knnMemory, knnQueries, listener, cancelled::get));
    }

    /** Asks the run to stop at the next step boundary, write a checkpoint and return normally; any thread may call it. */
    public void cancel() {
        cancelled.set(true);
    }

    /** See {@link Pretraining#of}. */
    public static final class Builder {
        private final PretrainOptions options;
        private ImageSource data, knnMemory, knnQueries;
        private DistConfig dist;
        private Listener listener = new Listener() {};
        private PrintStream console = new PrintStream(OutputStream.nullOutputStream());
        private CheckpointFigures figures;

        private Builder(PretrainOptions options) {
            this.options = Objects.requireNonNull(options, "options");
        }

        /** The training images (instead of {@code data_path}); {@link ImageSource#identify} names them in the checkpoints. */
        public Builder data(ImageSource images) {
            this.data = ImageSources.checked(Objects.requireNonNull(images, "images"));
            return this;
        }

        /** Labelled images for the k-NN monitor ({@code knn_every}): memory and queries. */
        public Builder knn(ImageSource memory, ImageSource queries) {
            this.knnMemory = ImageSources.checked(Objects.requireNonNull(memory, "memory"));
            this.knnQueries = ImageSources.checked(Objects.requireNonNull(queries, "queries"));
            return this;
        }

        /** This process's rank in a data-parallel group (every rank builds the same run; rank 0 writes). */
        public Builder dist(DistConfig config) {
            this.dist = config;
            return this;
        }

        public Builder listener(Listener l) {
            this.listener = Objects.requireNonNull(l, "listener");
            return this;
        }

        /** Where the run's progress lines go (none by default; the CLI passes standard output). */
        public Builder console(PrintStream out) {
            this.console = Objects.requireNonNull(out, "console");
            return this;
        }

        /**
         * The figures drawn at every checkpoint for the report's "Probe images"; by default the teacher's
         * attention and patch PCA of the first training images ({@link AttentionCheckpointFigures}).
         */
        public Builder figures(CheckpointFigures drawn) {
            this.figures = Objects.requireNonNull(drawn, "figures");
            return this;
        }

        public Pretraining build() {
            return new Pretraining(this);
        }
    }
}
