package org.ibot4j.trainer.run.running;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.BooleanSupplier;
import org.ibot4j.api.Centering;
import org.ibot4j.api.DistConfig;
import org.ibot4j.api.IbotModel;
import org.ibot4j.api.ProcessGroup;
import org.ibot4j.api.ProcessLimits;
import org.ibot4j.api.io.AtomicFiles;
import org.ibot4j.api.io.SpecialFiles;
import org.ibot4j.trainer.data.Datasets;
import org.ibot4j.trainer.data.ImageSource;
import org.ibot4j.trainer.data.MultiCropLoader;
import org.ibot4j.trainer.data.ShardOptions;
import org.ibot4j.trainer.data.ShardedImageSource;
import org.ibot4j.trainer.run.PretrainOptions;
import org.ibot4j.trainer.run.PretrainSetup;
import org.ibot4j.trainer.run.RunMemory;
import org.ibot4j.trainer.run.checkpoints.CheckpointMetadata;
import org.ibot4j.trainer.run.checkpoints.CheckpointStore;
import org.ibot4j.trainer.run.checkpoints.DataIdentity;
import org.ibot4j.trainer.run.checkpoints.InitialBackbone;
import org.ibot4j.trainer.run.checkpoints.InitialWeights;
import org.ibot4j.trainer.run.checkpoints.ResumePlan;
import org.ibot4j.trainer.run.checkpoints.RunLock;
import org.ibot4j.trainer.run.checkpoints.ScheduleExtension;
import org.ibot4j.trainer.run.reporting.AttentionCheckpointFigures;
import org.ibot4j.trainer.run.reporting.CheckpointFigures;
import org.ibot4j.trainer.run.reporting.CollapseWatch;
import org.ibot4j.trainer.run.reporting.MetricsLog;
import org.ibot4j.trainer.run.reporting.RunReport;
import org.ibot4j.trainer.run.reporting.RunReporter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code ibot4j pretrain} behind {@link Pretraining}: the data, the model (new, or restored from the
 * newest checkpoint of the output folder), then the training loop with its {@link StepObserver}s
 * (metrics, progress, collapse watch, flight-recorder events, k-NN monitor, checkpoints with figures
 * and report). A resumed run continues the same schedules, data order and masks, so it ends where an
 * uninterrupted run would.
 */
final class Pretrainer {
    private static final Logger LOG = LoggerFactory.getLogger(Pretrainer.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    /** What a run needs before it writes anything: the resume plan, the data, the setup. */
    private record Prepared(CheckpointStore store, ResumePlan plan, ImageSource all, ImageSource train, PretrainSetup setup, DataIdentity data,
            InitialBackbone backbone, InitialBackbone distillationTeacher) {}

    private final Prepared prep;
    private final PretrainSetup setup;
    private final DistConfig dist;
    private final PrintStream out;
    private final Path output;
    private final int world;
    private final boolean writer;
    private final Hooks hooks;
    /** The caller's listener, with the TensorBoard log beside it when asked for (set when the run starts). */
    private Pretraining.Listener listener;

    private Pretrainer(Prepared prep, DistConfig dist, PrintStream out, Path output, Hooks hooks) {
        this.prep = prep;
        this.setup = prep.setup();
        this.dist = dist;
        this.out = out;
        this.output = output;
        this.world = dist == null ? 1 : dist.worldSize();
        this.writer = dist == null || dist.rank() == 0;
        this.hooks = hooks;
    }

    /**
     * One process of a run: alone when {@code dist} is null, else rank {@code dist.rank()} of a
     * data-parallel group (every rank calls this with the same options; rank 0 alone writes).
     * {@code figures} null draws the default ones ({@link AttentionCheckpointFigures}).
     */
    static Pretraining.Result run(PretrainOptions requested, DistConfig dist, PrintStream out, CheckpointFigures figures, Hooks hooks)
            throws IOException {
        if (requested.outputDir.isBlank()) throw new IllegalArgumentException("--output DIR is required");
        PretrainSetup.requireValid(requested);
        int world = dist == null ? 1 : dist.worldSize();
        boolean writer = dist == null || dist.rank() == 0;
        Path output = Path.of(requested.outputDir);
        if (Files.exists(output) && !Files.isDirectory(output)) {
            throw new IllegalArgumentException("--output " + requested.outputDir + " is " + SpecialFiles.kind(output)
                    + ", not a folder: pretrain writes a folder of checkpoints and metrics; choose another path");
        }
        boolean created = !Files.exists(output);
        Files.createDirectories(output);
        // Only the writing rank owns the folder, from before it reads the folder's run state to the end.
        try (RunLock lock = writer ? RunLock.acquire(output) : null) {
            Prepared prepared;
            try {
                prepared = prepare(requested, output, world, hooks);
            } catch (IOException | RuntimeException e) {
                if (created && writer) removeUnstartedRun(output);  // options refused: nothing of this command stays behind
                throw e;
            }
            return new Pretrainer(prepared, dist, out, output, hooks).run(figures);
        }
    }

    private static Prepared prepare(PretrainOptions requested, Path output, int world, Hooks hooks) throws IOException {
        CheckpointStore store = new CheckpointStore(output.resolve("checkpoints"), requested.keepCheckpoints);
        ResumePlan plan = ResumePlan.of(requested, store, world);
        PretrainOptions options = plan.options();
        ImageSource all = hooks.data() != null ? hooks.data()
                : Datasets.open(options.dataPath, Datasets.Split.TRAIN, new ShardOptions(options.imageColumn, options.labelColumn, options.shuffleBuffer));
        if (all instanceof ShardedImageSource && options.subset > 0) {
            throw new IllegalArgumentException("--subset " + options.subset + ": shards are streamed, not indexed; to train on part of them, "
                    + "name fewer shards in --data (e.g. a shorter {000000..000009} range)");
        }
        String dataName = hooks.data() != null ? "images of " + hooks.data().getClass().getName() : options.dataPath;
        DataIdentity data = DataIdentity.of(dataName, all);
        plan.requireSameData(data);
        ImageSource train = Datasets.head(all, options.subset);
        PretrainSetup setup = PretrainSetup.of(options, train.size(), Datasets.sizeOfFirst(train, dataName), world);
        // Limits the process cannot get past: refused now, with a sentence, rather than by the kernel later.
        RunMemory.check(setup);
        ProcessLimits.checkOpenFiles(32 + 4L * setup.workers(), "pretraining with " + setup.workers() + " loader workers");
        // --init_backbone is read and checked now, before the run writes anything; a resumed run has its weights already.
        InitialBackbone backbone = plan.from().isEmpty() && !options.initBackbone.isBlank()
                ? InitialBackbone.read(Path.of(options.initBackbone), setup.model(), options.arch.name()) : null;
        if (backbone != null && backbone.positionsFor() > 0 && backbone.positionsFor() != setup.model().imgSize()) {
            LOG.info("--init_backbone {}: its positions are for {} px; the model keeps them and interpolates them for the {}-px crops",
                    options.initBackbone, backbone.positionsFor(), setup.evalSize());
            setup = setup.withPositionsFor(backbone.positionsFor());
        }
        InitialBackbone teacher = plan.from().isEmpty() && !options.distillFrom.isBlank()
                ? InitialBackbone.readDistillationTeacher(Path.of(options.distillFrom), setup.model(), options.distillArch) : null;
        if (teacher != null && teacher.positionsFor() > 0 && teacher.positionsFor() != setup.model().distillImgSize()) {
            setup = setup.withTeacherPositionsFor(teacher.positionsFor());
        }
        return new Prepared(store, plan, all, train, setup, data, backbone, teacher);
    }

    /** A run refused before it started: the folder this command created for it goes again (its lock file, an empty checkpoints/). */
    private static void removeUnstartedRun(Path output) {
        try {
            Files.deleteIfExists(output.resolve(RunLock.FILE));
            Files.deleteIfExists(output.resolve("checkpoints"));
            Files.deleteIfExists(output);
        } catch (IOException notEmpty) {
            // something else was put there meanwhile: leave it
        }
    }

    private Pretraining.Result run(CheckpointFigures figures) throws IOException {
        ResumePlan plan = prep.plan();
        PretrainOptions options = setup.options();  // the plan's, with the data's defaults filled in
        long start = plan.start();
        KnnMonitor monitor = writer ? KnnMonitor.of(setup, prep.all(), hooks, output) : null;
        listener = writer ? TensorBoardLog.attach(options.tensorboard, output, start, hooks.listener()) : hooks.listener();
        if (figures == null) figures = writer ? AttentionCheckpointFigures.orNone(prep.train(), setup) : CheckpointFigures.NONE;
        ArrayNode extensions = plan.from().map(ScheduleExtension::history).orElseGet(JSON::createArrayNode);
        if (plan.stored() != null) ScheduleExtension.recordIfExtended(extensions, plan.stored(), setup, setup.batchSize() * world, start);
        if (writer) {
            int stale = AtomicFiles.removeStale(output) + AtomicFiles.removeStale(output.resolve("checkpoints"));
            if (stale > 0) LOG.info("removed {} temporary file(s) left in {} by an interrupted write", stale, output);
            ObjectNode written = JSON.valueToTree(options);
            if (!extensions.isEmpty()) written.set(ScheduleExtension.KEY, extensions);
            AtomicFiles.writeString(output.resolve("options.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(written));
        }

        try (ProcessGroup group = dist == null ? null : ProcessGroup.join(dist);
                IbotModel model = plan.from().isPresent() ? IbotModel.open(plan.from().get(), setup.model().numThreads())
                        : InitialWeights.newModel(setup, prep.backbone(), prep.distillationTeacher(), writer ? out : null)) {
            if (group != null) {
                DistSetup.requireSameRun(group, options, prep.train().size());
                model.join(group);
            }
            if (plan.from().isPresent() && !(options.loadFrom + options.initBackbone).isBlank()) {
                LOG.info("resuming: --{} {} is not read again (the checkpoint holds the run's weights)",
                        options.loadFrom.isBlank() ? "init_backbone" : "load_from", options.loadFrom + options.initBackbone);
            }
            long last = setup.lastIteration();
            out.printf(Locale.ROOT, "%s %s (%d x %d, patch %d) on %d images from %s: %d iterations per epoch, %d in the schedule; "
                            + "%s at %d, until %d%s%n", plan.from().isPresent() ? "resuming" : "pretraining", options.arch,
                    model.config().embedDim(), model.config().depth(), model.config().patchSize(), prep.train().size(), options.dataPath,
                    setup.itersPerEpoch(), setup.totalIters(), plan.from().map(p -> "from " + p.getFileName()).orElse("starting"), start, last,
                    dist == null ? "" : "; " + dist + ", global batch " + (long) setup.batchSize() * world);
            if (start >= last) {
                out.println("nothing to do: the run already reached iteration " + start + " (raise --max_steps, or --epochs with --extend_schedule, to go on)");
                return new Pretraining.Result(output, plan.from().orElse(null), start, Double.NaN, List.of(), false);
            }
            // A cancel must stop every rank at the same step: the ranks agree on it (one small all-reduce a step).
            BooleanSupplier stop = group == null ? hooks.cancelled() : () -> {
                double[] flag = {hooks.cancelled().getAsBoolean() ? 1 : 0};
                group.allReduce(flag, ProcessGroup.Reduce.MAX);
                return flag[0] > 0;
            };
            RunReporter reporter = new RunReporter(output, new RunReport.ModelFacts(setup.model().outDim(), setup.model().studentTemp()), figures,
                    listener::onFigures);
            CheckpointObserver checkpoints = writer ? new CheckpointObserver(prep.store(), model, new CheckpointMetadata(setup, world, extensions,
                    prep.data()), reporter, listener, saveEvery(), last) : null;
            if (writer) reporter.keepUpTo(start);
            KnnMonitor knn = monitor == null ? null : monitor.of(model, listener);
            if (knn != null && start == 0 && !(options.loadFrom + options.initBackbone).isBlank()) knn.atStart();
            return train(model, start, last, knn, checkpoints, stop);
        }
    }

    private long saveEvery() {
        PretrainOptions o = setup.options();
        return o.saveckpIters > 0 ? o.saveckpIters : o.saveckpFreq * setup.itersPerEpoch();
    }

    /** {@code monitor} and {@code checkpoints} are null on ranks other than 0: they train but write nothing. */
    private Pretraining.Result train(IbotModel model, long start, long last, KnnMonitor monitor, CheckpointObserver checkpoints, BooleanSupplier stop)
            throws IOException {
        PretrainOptions o = setup.options();
        MultiCropLoader.Shard shard = dist == null ? MultiCropLoader.Shard.SINGLE : new MultiCropLoader.Shard(dist.rank(), world);
        long globalBatch = (long) setup.batchSize() * world;
        CollapseWatch collapse = new CollapseWatch(setup.model().outDim(), setup.batchSize() * o.globalCropsNumber, o.collapseWarnSteps,
                o.centering == Centering.SINKHORN_KNOPP, o.koleoLossWeight > 0).warmupUntil(o.freezeBackboneEpochs * setup.itersPerEpoch());
        LastLoss lastLoss = new LastLoss();
        long reached = start;
        List<StepObserver> observers = new ArrayList<>();
        ProgressObserver progress = writer ? new ProgressObserver(start, last, collapse, out) : null;
        observers.add(lastLoss);
        observers.add((s, seconds) -> TrainStepEvent.record(s.iteration(), s.epoch(), s.dataWaitSeconds(), seconds, s.params(), s.result(),
                s.imagesPerSecond()));
        if (writer) {
            RunEstimate estimate = new RunEstimate(start, last, setup.itersPerEpoch());
            observers.add((s, seconds) -> estimate.observe(s.iteration(), seconds));
            observers.add((s, seconds) -> listener.onStep(s));
            observers.add((s, seconds) -> collapse.observe(s.iteration(), s.result()).ifPresent(LOG::warn));
            observers.add(progress);
            observers.add(monitor);
            observers.add(checkpoints);
        }
        try (MultiCropLoader loader = new MultiCropLoader(prep.train(), setup.augmentation(), setup.masking(), model.config(), setup.batchSize(),
                setup.workers(), 3, o.seed, start, shard);
                MetricsLog metrics = writer ? new MetricsLog(output, start) : null) {
            // The step's row goes before the progress bar, and before the checkpoint's report, which includes it.
            if (writer) observers.add(observers.indexOf(progress), new MetricsRecorder(metrics, collapse, loader::skippedImages));
            StepClock clock = new StepClock();
            reached = new TrainingLoop(model, loader, setup.schedules(), o.maxNonfinite).run(start, last, (it, p, r, wait) -> {
                double stepSeconds = clock.lap();
                Pretraining.Step step = new Pretraining.Step(it, setup.schedules().epochOf(it), p, r, globalBatch / stepSeconds, wait);
                try {
                    for (StepObserver observer : observers) observer.afterStep(step, stepSeconds);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }, stop);
            for (StepObserver observer : observers) observer.afterLoop(reached);
        } catch (UncheckedIOException e) {
            throw e.getCause();
        } finally {
            for (StepObserver observer : observers) observer.finish(reached);
        }
        boolean cancelled = reached < last;
        String ended = cancelled ? "cancelled" : "done";
        Path checkpoint = writer ? checkpoints.written() : null;
        if (writer) {
            out.printf(Locale.ROOT, "%s: iteration %d, last loss %.4f; checkpoint %s; metrics in %s%n", ended, reached, lastLoss.value,
                    checkpoint, output.resolve("metrics.jsonl"));
        } else {
            out.printf(Locale.ROOT, "%s: iteration %d, last loss %.4f (rank %d; rank 0 writes the run)%n", ended, reached, lastLoss.value,
                    shard.rank());
        }
        return new Pretraining.Result(output, checkpoint, reached, lastLoss.value, writer ? monitor.results() : List.of(), cancelled);
    }

    /** The last finite step's loss (NaN before one). */
    private static final class LastLoss implements StepObserver {
        double value = Double.NaN;

        @Override
        public void afterStep(Pretraining.Step step, double stepSeconds) {
            if (step.result().finite()) value = step.result().loss();
        }
    }

    /** Wall time between the loop's calls: a step's whole cost, its observers' included. */
    private static final class StepClock {
        private long last = System.nanoTime();

        double lap() {
            long now = System.nanoTime();
            double seconds = (now - last) / 1e9;
            last = now;
            return seconds;
        }
    }
}
