package org.ibot4j.trainer.run;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.ibot4j.api.Centering;
import org.ibot4j.api.DistConfig;
import org.ibot4j.api.IbotModel;
import org.ibot4j.api.ProcessGroup;
import org.ibot4j.api.ProcessLimits;
import org.ibot4j.api.io.AtomicFiles;
import org.ibot4j.api.io.SpecialFiles;
import org.ibot4j.api.Network;
import org.ibot4j.api.NativeLibrary;
import org.ibot4j.trainer.run.CheckpointStore;
import org.ibot4j.trainer.run.LossCurve;
import org.ibot4j.trainer.run.ProgressBar;
import org.ibot4j.trainer.run.TrainingLoop;
import org.ibot4j.trainer.run.Versions;
import org.ibot4j.trainer.data.Datasets;
import org.ibot4j.trainer.data.ImageSource;
import org.ibot4j.trainer.data.MultiCropLoader;
import org.ibot4j.trainer.eval.KnnClassifier;
import org.ibot4j.trainer.eval.KnnEvaluation;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code ibot4j pretrain}: the data, the model (new, or restored from the newest checkpoint of the
 * output folder), then iterations of the training loop with metrics per step, checkpoints every N steps
 * and at the end, an optional k-NN monitor, and a loss curve. A resumed run continues the same
 * schedules, data order and masks, so it ends where an uninterrupted run would.
 */
public final class Pretrainer {
    private static final Logger LOG = LoggerFactory.getLogger(Pretrainer.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Options that may change when a run resumes: they steer the run, not what it computes. */
    static final Set<String> RUN_CONTROL = Set.of("max_steps", "saveckp_iters", "saveckp_freq", "keep_checkpoints",
            "resume", "extend_schedule", "tensorboard", "change_data", "output_dir", "data_path", "num_workers", "threads", "knn_every", "knn_train", "knn_test", "max_nonfinite", "collapse_warn_steps",
            "nproc_per_node", "nnodes", "node_rank", "master_addr", "master_port", "dist_backend", "dist_timeout");

    /**
     * How a run ended: the iteration reached, the last step's losses, the k-NN monitor's results by
     * iteration, and whether it was cancelled (then {@code checkpoint} holds the iteration reached).
     */
    public record Outcome(Path output, Path checkpoint, long iteration, double lastLoss, List<Knn> knn, boolean cancelled) {}

    /**
     * What a library caller brings instead of the CLI's defaults ({@link Pretraining}): training images
     * instead of {@code data_path}, k-NN images, a listener and a cancellation flag. Null sources mean
     * the options' data.
     */
    record Hooks(ImageSource data, ImageSource knnMemory, ImageSource knnQueries, Pretraining.Listener listener,
            java.util.function.BooleanSupplier cancelled) {
        static final Hooks NONE = new Hooks(null, null, null, new Pretraining.Listener() {}, () -> false);
    }

    public record Knn(long iteration, int epoch, KnnClassifier.Accuracy accuracy) {}

    private Pretrainer() {}

    public static Outcome run(PretrainOptions requested, PrintStream out) throws IOException {
        return run(requested, DistSetup.fromEnvironment(requested), out);
    }

    /**
     * One process of a run: alone when {@code dist} is null, else rank {@code dist.rank()} of a
     * data-parallel group (every rank calls this with the same options; rank 0 alone writes).
     */
    public static Outcome run(PretrainOptions requested, DistConfig dist, PrintStream out) throws IOException {
        return run(requested, dist, out, null);
    }

    /**
     * The same, with {@code probes} drawing figures of the model at every checkpoint for the report's
     * "Probe images"; null draws the default ones ({@link AttentionProbes} on the first training images).
     */
    public static Outcome run(PretrainOptions requested, DistConfig dist, PrintStream out, ProbeFigures probes) throws IOException {
        return run(requested, dist, out, probes, Hooks.NONE);
    }

    static Outcome run(PretrainOptions requested, DistConfig dist, PrintStream out, ProbeFigures probes, Hooks hooks) throws IOException {
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
            return run(prepared, dist, out, probes, output, world, writer, hooks);
        }
    }

    /** What a run needs before it writes anything: the options after a resume's merge, the data, the setup. */
    private record Prepared(CheckpointStore store, Optional<Path> resumeFrom, PretrainOptions stored, PretrainOptions options, long start,
            ImageSource all, ImageSource train, PretrainSetup setup, DataIdentity data) {}

    private static Prepared prepare(PretrainOptions requested, Path output, int world, Hooks hooks) throws IOException {
        CheckpointStore store = new CheckpointStore(output.resolve("checkpoints"), requested.keepCheckpoints);
        Optional<Path> resumeFrom = resumePoint(requested, store);
        PretrainOptions stored = resumeFrom.map(Pretrainer::storedOptions).orElse(null);
        PretrainOptions options = stored != null ? merge(stored, requested, storedWorldSize(resumeFrom.get()), world) : requested;
        long start = resumeFrom.map(Pretrainer::iterationOf).orElse(0L);
        ImageSource all = hooks.data() != null ? hooks.data() : Datasets.open(options.dataPath, Datasets.Split.TRAIN);
        String dataName = hooks.data() != null ? "images of " + hooks.data().getClass().getName() : options.dataPath;
        DataIdentity data = DataIdentity.of(dataName, all);
        if (resumeFrom.isPresent()) DataIdentity.requireSame(metadataOf(resumeFrom.get()).get(DataIdentity.KEY), data, options.changeData);
        ImageSource train = Datasets.head(all, options.subset);
        PretrainSetup setup = PretrainSetup.of(options, train.size(), Datasets.sizeOfFirst(train, dataName), world);
        // Limits the process cannot get past: refused now, with a sentence, rather than by the kernel later.
        RunMemory.check(setup);
        ProcessLimits.checkOpenFiles(32 + 4L * setup.workers(), "pretraining with " + setup.workers() + " loader workers");
        return new Prepared(store, resumeFrom, stored, options, start, all, train, setup, data);
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

    private static Outcome run(Prepared prep, DistConfig dist, PrintStream out, ProbeFigures probes, Path output, int world, boolean writer,
            Hooks hooks) throws IOException {
        CheckpointStore store = prep.store();
        Optional<Path> resumeFrom = prep.resumeFrom();
        PretrainOptions stored = prep.stored(), options = prep.options();
        long start = prep.start();
        ImageSource all = prep.all(), train = prep.train();
        PretrainSetup setup = prep.setup();
        Monitor monitor = writer ? Monitor.of(setup, all, hooks) : new Monitor(setup, null, null);
        if (probes == null) probes = writer ? AttentionProbes.orNone(train, setup) : ProbeFigures.NONE;
        ArrayNode extensions = resumeFrom.map(ScheduleExtension::history).orElseGet(JSON::createArrayNode);
        if (stored != null) ScheduleExtension.recordIfExtended(extensions, stored, setup, setup.batchSize() * world, start);
        if (writer) {
            int stale = AtomicFiles.removeStale(output) + AtomicFiles.removeStale(output.resolve("checkpoints"));
            if (stale > 0) LOG.info("removed {} temporary file(s) left in {} by an interrupted write", stale, output);
            ObjectNode written = JSON.valueToTree(options);
            if (!extensions.isEmpty()) written.set(ScheduleExtension.KEY, extensions);
            AtomicFiles.writeString(output.resolve("options.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(written));
        }

        try (ProcessGroup group = dist == null ? null : ProcessGroup.join(dist);
                IbotModel model = resumeFrom.isPresent() ? IbotModel.open(resumeFrom.get(), setup.model().numThreads())
                        : newModel(setup, writer ? out : null)) {
            if (group != null) {
                DistSetup.requireSameRun(group, options, train.size());
                model.join(group);
            }
            if (resumeFrom.isPresent() && !options.loadFrom.isBlank()) {
                LOG.info("resuming: --load_from {} is not read again (the checkpoint holds the run's weights)", options.loadFrom);
            }
            long last = setup.lastIteration();
            out.printf(Locale.ROOT, "%s %s (%d x %d, patch %d) on %d images from %s: %d iterations per epoch, %d in the schedule; "
                            + "%s at %d, until %d%s%n", resumeFrom.isPresent() ? "resuming" : "pretraining", options.arch,
                    model.config().embedDim(), model.config().depth(), model.config().patchSize(), train.size(), options.dataPath,
                    setup.itersPerEpoch(), setup.totalIters(), resumeFrom.map(p -> "from " + p.getFileName()).orElse("starting"), start, last,
                    dist == null ? "" : "; " + dist + ", global batch " + (long) setup.batchSize() * world);
            if (start >= last) {
                out.println("nothing to do: the run already reached iteration " + start + " (raise --max_steps, or --epochs with --extend_schedule, to go on)");
                return new Outcome(output, resumeFrom.orElse(null), start, Double.NaN, List.of(), false);
            }
            MultiCropLoader.Shard shard = dist == null ? MultiCropLoader.Shard.SINGLE : new MultiCropLoader.Shard(dist.rank(), world);
            // A cancel must stop every rank at the same step: the ranks agree on it (one small all-reduce a step).
            java.util.function.BooleanSupplier stop = group == null || hooks == Hooks.NONE ? hooks.cancelled() : () -> {
                double[] flag = {hooks.cancelled().getAsBoolean() ? 1 : 0};
                group.allReduce(flag, ProcessGroup.Reduce.MAX);
                return flag[0] > 0;
            };
            Pretraining.Listener listener = writer ? TensorBoardLog.attach(options.tensorboard, output, start, hooks.listener()) : hooks.listener();
            return train(setup, model, train, monitor, writer ? store : null, output, start, last, shard, extensions, prep.data(), probes, out,
                    listener, stop);
        }
    }

    /**
     * A new run's model: initialised from the seed, then given the weights of {@code --load_from} when
     * set (the schedules, the step count and the optimiser state stay new). {@code out} is null on
     * ranks that do not report.
     */
    private static IbotModel newModel(PretrainSetup setup, PrintStream out) throws IOException {
        IbotModel model = IbotModel.create(setup.model());
        String from = setup.options().loadFrom;
        if (from.isBlank()) return model;
        try {
            InitialWeights.Loaded loaded = InitialWeights.apply(model, Path.of(from));
            if (out != null) {
                out.printf(Locale.ROOT, "load_from: %d tensors from %s (%s); a new run: step 0, new schedules, new optimiser state%n",
                        loaded.loaded(), loaded.source(), loaded.kind());
                if (!loaded.fresh().isEmpty()) {
                    out.println("fresh (not in the file, initialised as a new run): " + String.join(", ", loaded.fresh()));
                }
            }
            return model;
        } catch (IOException | RuntimeException e) {
            model.close();
            throw e;
        }
    }

    /** {@code store} is null on ranks other than 0: they train but write nothing. */
    private static Outcome train(PretrainSetup setup, IbotModel model, ImageSource train, Monitor monitor, CheckpointStore store,
            Path output, long start, long last, MultiCropLoader.Shard shard, ArrayNode extensions, DataIdentity data, ProbeFigures probes,
            PrintStream out, Pretraining.Listener listener, java.util.function.BooleanSupplier stop)
            throws IOException {
        boolean writer = store != null;
        PretrainOptions o = setup.options();
        long saveEvery = o.saveckpIters > 0 ? o.saveckpIters : o.saveckpFreq * setup.itersPerEpoch();
        long knnEvery = o.knnEvery * setup.itersPerEpoch();
        List<Knn> knn = new ArrayList<>();
        double[] lastLoss = {Double.NaN};
        long[] reached = {start};
        Path[] lastCheckpoint = {null};
        long[] reportedAt = {-1};
        ProgressBar bar = writer ? new ProgressBar("pretrain", start, last, out) : null;
        if (writer) {
            MetricsLog.keepKnnUpTo(output.resolve("knn.jsonl"), start);
            ProbeStore.keepUpTo(output, start);
        }
        RunReport.ModelFacts facts = new RunReport.ModelFacts(setup.model().outDim(), setup.model().studentTemp());
        long globalBatch = (long) setup.batchSize() * shard.worldSize();
        CollapseWatch collapse = new CollapseWatch(setup.model().outDim(), setup.batchSize() * o.globalCropsNumber, o.collapseWarnSteps,
                o.centering == Centering.SINKHORN_KNOPP, o.koleoLossWeight > 0);
        try (MultiCropLoader loader = new MultiCropLoader(train, setup.augmentation(), setup.masking(), model.config(), setup.batchSize(),
                setup.workers(), 3, o.seed, start, shard);
                MetricsLog metrics = writer ? new MetricsLog(output, start) : null) {
            long[] stepStart = {System.nanoTime()};
            RunEstimate estimate = new RunEstimate(start, last, setup.itersPerEpoch());
            reached[0] = new TrainingLoop(model, loader, setup.schedules(), o.maxNonfinite).run(start, last, (it, p, r, wait) -> {
                long now = System.nanoTime();
                double stepSeconds = (now - stepStart[0]) / 1e9;
                stepStart[0] = now;
                int epoch = setup.schedules().epochOf(it);
                if (r.finite()) lastLoss[0] = r.loss();
                TrainStepEvent.record(it, epoch, wait, stepSeconds, p, r, globalBatch / stepSeconds);
                if (!writer) return;
                estimate.observe(it, stepSeconds);
                listener.onStep(new Pretraining.Step(it, epoch, p, r, globalBatch / stepSeconds, wait));
                collapse.observe(it, r).ifPresent(LOG::warn);
                try {
                    metrics.append(it, epoch, r.loss(), r.clsLoss(), r.patchLoss(), p.lr(), p.weightDecay(), p.teacherMomentum(),
                            p.teacherTemp(), p.teacherPatchTemp(), r.gradNorm(), globalBatch / stepSeconds, wait, stepSeconds,
                            r.finite(), loader.skippedImages(), r.koleoLoss(), r.teacherClsEntropy(), r.teacherPatchEntropy(),
                            r.prototypesUsed(), collapse.prototypeShare(r), r.effectiveRank());
                    bar.update(it + 1, String.format(Locale.ROOT, "loss %.3f (cls %.3f, patch %.3f), %s", r.loss(), r.clsLoss(), r.patchLoss(),
                            collapse.status(r)));
                    long done = it + 1;
                    if (knnEvery > 0 && done % knnEvery == 0) {
                        KnnClassifier.Accuracy a = monitor.measure(model);
                        knn.add(new Knn(done, (int) (done / setup.itersPerEpoch()), a));
                        listener.onKnn(knn.getLast());
                        LOG.info("k-NN after epoch {} (iteration {}): top-1 {} %, top-5 {} %", done / setup.itersPerEpoch(), done,
                                fmt(a.top1()), fmt(a.top5()));
                        ObjectNode row = JSON.createObjectNode().put("iteration", done).put("epoch", done / setup.itersPerEpoch())
                                .put("top1", a.top1()).put("top5", a.top5());
                        Files.writeString(output.resolve("knn.jsonl"), JSON.writeValueAsString(row) + "\n",
                                java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
                    }
                    if (done % saveEvery == 0 || done == last) {
                        lastCheckpoint[0] = saveRecorded(store, model, done, metadata(setup, done, shard.worldSize(), extensions, data));
                        LOG.info("checkpoint {} written", lastCheckpoint[0]);
                        listener.onCheckpoint(lastCheckpoint[0], done);
                        drawProbes(probes, model, done, output, store.kept(), listener);
                        report(output, facts);
                        reportedAt[0] = done;
                    }
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }, stop);
            if (reached[0] < last && writer && reportedAt[0] != reached[0]) {
                // Cancelled at a step boundary: the steps done so far are kept like any checkpoint's.
                lastCheckpoint[0] = saveRecorded(store, model, reached[0], metadata(setup, reached[0], shard.worldSize(), extensions, data));
                LOG.info("cancelled at iteration {}: checkpoint {} written", reached[0], lastCheckpoint[0]);
                listener.onCheckpoint(lastCheckpoint[0], reached[0]);
                drawProbes(probes, model, reached[0], output, store.kept(), listener);
                report(output, facts);
                reportedAt[0] = reached[0];
            }
        } catch (UncheckedIOException e) {
            throw e.getCause();
        } finally {
            if (writer) {
                bar.finish();
                curve(output);  // a warning at worst: it must not replace the exception that ended the run
                if (reportedAt[0] != reached[0]) report(output, facts);  // a run that stopped early; the last checkpoint's is complete
            }
        }
        boolean cancelled = reached[0] < last;
        String ended = cancelled ? "cancelled" : "done";
        if (writer) {
            out.printf(Locale.ROOT, "%s: iteration %d, last loss %.4f; checkpoint %s; metrics in %s%n", ended, reached[0], lastLoss[0],
                    lastCheckpoint[0], output.resolve("metrics.jsonl"));
        } else {
            out.printf(Locale.ROOT, "%s: iteration %d, last loss %.4f (rank %d; rank 0 writes the run)%n", ended, reached[0], lastLoss[0],
                    shard.rank());
        }
        return new Outcome(output, lastCheckpoint[0], reached[0], lastLoss[0], knn, cancelled);
    }

    /** Saves a checkpoint, as a {@link CheckpointWriteEvent} when a flight recording wants one. */
    private static Path saveRecorded(CheckpointStore store, IbotModel model, long iteration, String metadata) throws IOException {
        CheckpointWriteEvent event = new CheckpointWriteEvent();
        event.begin();
        Path written = store.save(model, iteration, metadata);
        event.end();
        if (event.shouldCommit()) {
            event.path = written.toString();
            event.bytes = Files.size(written);
            event.step = iteration;
            event.commit();
        }
        return written;
    }

    /** Rewrites report.html; a failure is a warning: the report must never stop training or hide why it stopped. */
    private static void report(Path output, RunReport.ModelFacts facts) {
        try {
            RunReport.write(output, facts);
        } catch (Exception | OutOfMemoryError | StackOverflowError | LinkageError e) {
            LOG.warn("could not write {}: {}", output.resolve(RunReport.FILE), e.toString());
        }
    }

    /**
     * The report's probe figures of this checkpoint, then the stored figures thinned to those of the kept
     * checkpoints and a few spread over the run. Figures are extras: any failure costs them, never the run.
     */
    private static void drawProbes(ProbeFigures probes, IbotModel model, long step, Path output, List<Long> keptCheckpoints,
            Pretraining.Listener listener) {
        try {
            List<ProbeFigures.Figure> figures = probes.render(model, step);
            ProbeStore.save(output, step, figures);
            ProbeStore.thin(output, keptCheckpoints);
            listener.onFigures(step, figures);
        } catch (Exception | OutOfMemoryError | StackOverflowError | LinkageError e) {
            LOG.warn("probe figures at iteration {} left out of the report: {}", step, e.toString());
        }
    }

    /** The loss curve of the whole run so far, resumed parts included; an extra, so a failure is a warning. */
    private static void curve(Path output) {
        try {
            Path csv = output.resolve("metrics.csv");
            if (!Files.exists(csv)) return;
            List<double[]> points = new ArrayList<>();
            for (Map<String, String> row : MetricsLog.readCsv(csv)) {
                if (!"true".equals(row.get("finite"))) continue;
                points.add(new double[] {Double.parseDouble(row.get("loss")), Double.parseDouble(row.get("cls_loss")),
                        Double.parseDouble(row.get("patch_loss"))});
            }
            if (!points.isEmpty()) LossCurve.write(output.resolve("loss.png"), points, "iBOT pretraining, " + output.getFileName());
        } catch (Exception | OutOfMemoryError | StackOverflowError | LinkageError e) {
            LOG.warn("could not write {}: {}", output.resolve("loss.png"), e.toString());
        }
    }

    private static Optional<Path> resumePoint(PretrainOptions o, CheckpointStore store) throws IOException {
        String resume = o.resume;
        return switch (resume.toLowerCase(Locale.ROOT)) {
            case "auto" -> {
                Optional<Path> latest = store.latest();
                latest.ifPresent(p -> LOG.info("{} holds {}: resuming from it (--resume false to refuse)", o.outputDir, p));
                yield latest;
            }
            case "true", "1", "yes" -> Optional.of(store.latest().orElseThrow(() -> new IllegalArgumentException(
                    "--resume: no readable checkpoint in " + o.outputDir + "/checkpoints")));
            case "false", "0", "no" -> {
                if (store.latest().isPresent()) {
                    throw new IllegalArgumentException(o.outputDir + " already holds checkpoints of a run; with --resume false "
                            + "ibot4j does not overwrite them: choose another --output, or resume");
                }
                yield Optional.empty();
            }
            default -> {
                Path p = Path.of(resume);
                if (!Files.isRegularFile(p)) throw new IllegalArgumentException("--resume " + resume + ": no such checkpoint file");
                yield Optional.of(p);
            }
        };
    }

    /** The options a checkpoint's run used. */
    static PretrainOptions storedOptions(Path checkpoint) {
        JsonNode options = metadataOf(checkpoint).get("options");
        if (options == null) throw new IllegalArgumentException(checkpoint + " was not written by 'ibot4j pretrain' (no options in its metadata)");
        return readOptions(options, checkpoint.toString());
    }

    private static PretrainOptions readOptions(JsonNode options, String origin) {
        try {
            // Every stored value was the run's choice (data-dependent defaults included): none may be re-derived.
            Set<String> given = new java.util.LinkedHashSet<>();
            options.fieldNames().forEachRemaining(given::add);
            // Options a newer or older ibot4j stored and this one does not know are left out.
            return JSON.readerFor(PretrainOptions.class).without(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
                    .<PretrainOptions>readValue(options).markExplicit(given);
        } catch (IOException e) {
            throw new IllegalArgumentException(origin + ": unreadable pretrain options (" + e.getMessage() + ")");
        }
    }

    /**
     * The stored run's training options with this command's run controls (max_steps, checkpointing,
     * threads, monitor; data and output when given). Any training option given now must equal the stored
     * value: changing it would make the resumed run a different run; the one exception is a larger
     * {@code epochs} with {@code --extend_schedule} (see {@link ScheduleExtension}). The stored run had
     * {@code storedWorld} processes and this one has {@code world}:
     * the global batch (per-process batch times processes) must stay, so the schedules and the data
     * order stay; the per-process batch follows from it.
     */
    static PretrainOptions merge(PretrainOptions stored, PretrainOptions requested, int storedWorld, int world) {
        ObjectNode now = JSON.valueToTree(requested), merged = JSON.valueToTree(stored);
        List<String> conflicts = new ArrayList<>();
        long globalBatch = (long) stored.batchSizePerGpu * storedWorld;
        if (world != storedWorld) {
            if (globalBatch % world != 0) {
                throw new IllegalArgumentException("cannot resume a run of " + storedWorld + " process(es) on " + world + ": its global batch of "
                        + globalBatch + " images is not divisible by " + world);
            }
            merged.put("batch_size_per_gpu", globalBatch / world);
            LOG.info("resuming a run of {} process(es) on {}: same global batch of {} ({} per process), so the same schedules and data order",
                    storedWorld, world, globalBatch, globalBatch / world);
        }
        for (String name : (Iterable<String>) now::fieldNames) {
            JsonNode value = now.get(name);
            if (name.equals("epochs") && requested.isExplicit(name) && !value.equals(merged.get(name))) {
                if (!requested.extendSchedule) {
                    conflicts.add("epochs is " + merged.get(name) + " in the checkpoint, " + value + " now (to lengthen the run, add "
                            + "--extend_schedule: the schedules are then recomputed over the new length)");
                } else if (value.asInt() < stored.epochs) {
                    conflicts.add("epochs: --extend_schedule lengthens a run; " + value + " is shorter than the checkpoint's " + merged.get(name));
                } else {
                    merged.set(name, value);
                }
                continue;
            }
            if (name.equals("batch_size_per_gpu") && requested.isExplicit(name) && value.asLong() * world == globalBatch) continue;
            if (RUN_CONTROL.contains(name)) {
                boolean location = name.equals("data_path") || name.equals("output_dir");
                if (!location || !value.asText().isBlank()) merged.set(name, value);
            } else if (requested.isExplicit(name) && !value.equals(merged.get(name))) {
                conflicts.add(name + " is " + merged.get(name) + " in the checkpoint, " + value + " now");
            }
        }
        if (!conflicts.isEmpty()) {
            throw new IllegalArgumentException("cannot resume with different training options (start a new --output instead):\n  "
                    + String.join("\n  ", conflicts));
        }
        return readOptions(merged, "the merged options");
    }

    /** Processes of the run that wrote a checkpoint (1 for checkpoints from before data parallelism). */
    static int storedWorldSize(Path checkpoint) {
        return metadataOf(checkpoint).path("loader").path("world_size").asInt(1);
    }

    static long iterationOf(Path checkpoint) {
        return metadataOf(checkpoint).path("iteration").asLong(CheckpointStore.iterationOf(checkpoint));
    }

    private static JsonNode metadataOf(Path checkpoint) {
        try {
            return JSON.readTree(IbotModel.readMetadata(checkpoint));
        } catch (IOException e) {
            throw new IllegalArgumentException(checkpoint + ": unreadable metadata (" + e.getMessage() + ")");
        }
    }

    /** Everything needed to continue the run and to know where it came from. */
    static String metadata(PretrainSetup setup, long iteration, int worldSize, ArrayNode extensions, DataIdentity data) {
        ObjectNode m = JSON.createObjectNode();
        m.put("iteration", iteration);
        m.put("epoch", setup.schedules().epochOf(iteration));
        ObjectNode loader = m.putObject("loader");
        // The loader's state is a pure function of these: crops and masks of batch b come from (seed, epoch, position).
        loader.put("seed", setup.options().seed);
        loader.put("next_batch", iteration);
        loader.put("batch_size", setup.batchSize());
        loader.put("world_size", worldSize);
        loader.put("iterations_per_epoch", setup.itersPerEpoch());
        m.set("options", JSON.valueToTree(setup.options()));
        m.set(DataIdentity.KEY, data.toJson());
        if (!extensions.isEmpty()) m.set(ScheduleExtension.KEY, extensions);
        ObjectNode versions = m.putObject("versions");
        versions.put("ibot4j", Versions.ibot4j());
        versions.put("libtorch", NativeLibrary.load().loadedVersion());
        versions.put("java", Runtime.version().toString());
        m.put("written", Instant.now().toString());
        return m.toString();
    }

    private static String fmt(double v) {
        return String.format(Locale.ROOT, "%.2f", v);
    }

    /** The optional k-NN monitor: teacher CLS features of part of the train and test splits. */
    private record Monitor(PretrainSetup setup, ImageSource train, ImageSource test) {
        /** Memory images from the whole train split (not only a --subset), queries from the test split. */
        static Monitor of(PretrainSetup setup, ImageSource train, Hooks hooks) throws IOException {
            PretrainOptions o = setup.options();
            if (o.knnEvery <= 0) return new Monitor(setup, null, null);
            if (hooks.knnMemory() != null) {
                return new Monitor(setup, Datasets.head(hooks.knnMemory(), o.knnTrain), Datasets.head(hooks.knnQueries(), o.knnTest));
            }
            if (hooks.data() != null) {
                throw new IllegalArgumentException("knn_every needs labelled images for the monitor: pass them with Pretraining.Builder.knn(memory, queries)");
            }
            ImageSource test = Datasets.open(o.dataPath, Datasets.Split.TEST);
            return new Monitor(setup, Datasets.head(train, o.knnTrain), Datasets.head(test, o.knnTest));
        }

        KnnClassifier.Accuracy measure(IbotModel model) throws IOException {
            return KnnEvaluation.network(model, Network.TEACHER, train, test, setup.augmentation(), setup.model().imgSize());
        }
    }
}
