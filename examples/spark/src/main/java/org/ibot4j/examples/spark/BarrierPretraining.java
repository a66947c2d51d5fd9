package org.ibot4j.examples.spark;

import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;
import org.apache.spark.BarrierTaskContext;
import org.apache.spark.BarrierTaskInfo;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerStageCompleted;
import org.apache.spark.scheduler.StageInfo;
import org.apache.spark.sql.SparkSession;
import org.ibot4j.api.Arch;
import org.ibot4j.api.DistConfig;
import org.ibot4j.api.IbotModel;
import org.ibot4j.trainer.data.ShardPaths;
import org.ibot4j.trainer.run.PretrainOptions;
import org.ibot4j.trainer.run.checkpoints.TeacherDifference;
import org.ibot4j.trainer.run.running.Pretraining;
import scala.collection.Iterator;
import scala.collection.JavaConverters;
import scala.reflect.ClassTag$;
import scala.runtime.AbstractFunction1;

/**
 * Data-parallel iBOT pretraining as a Spark barrier stage, the way PySpark's TorchDistributor starts
 * torch.distributed: W tasks that Spark schedules together; each derives torchrun's contract from its
 * {@link BarrierTaskContext} (rank = partition id, master = task 0's host, a free port that task 0 picks
 * and shares through {@code allGather}) and runs the library pretraining as one rank of a c10d group.
 *
 * <p>Checks, each failing the program with status 1: (1) W tasks with batch B train the teacher that one
 * process with batch W x B trains (same seed, data and drop-path 0), within 1e-4 of the largest teacher
 * weight; (2) rank 0 fails on the stage's first attempt after {@link #FAIL_AFTER} steps: Spark reports the
 * stage as failed with that error, the run folder's newest checkpoint opens, and (3) Spark's retry of the
 * whole stage resumes from it and ends at {@link #STEPS}. Argument: a work folder (its runs are replaced).
 */
public final class BarrierPretraining {
    static final int W = 2, B = 4, STEPS = 6, SAVE_EVERY = 2, FAIL_AFTER = 5, IMAGES = 64;
    static final double BOUND = 1e-4;
    static final String INJECTED = "injected failure";

    /** What one task reports to the driver. */
    record TaskReport(int rank, int stageAttempt, String master, long resumeCheckpoint, int resumeTensors, long firstStep, long reached,
            String checkpoint) implements Serializable {}

    public static void main(String[] args) throws Exception {
        Path work = Path.of(args.length > 0 ? args[0] : "spark-barrier").toAbsolutePath();
        deleteTree(work);  // a run folder left from before would be resumed, not trained
        Files.createDirectories(work);
        FashionImages data = FashionImages.read("train", IMAGES);
        List<String> problems = new ArrayList<>();

        // The reference: one process, the whole batch, no c10d group.
        long t0 = System.nanoTime();
        Pretraining.Result single = Pretraining.of(options(work.resolve("single"), W * B, STEPS, null)).data(data.source()).build().run();
        System.out.printf(Locale.ROOT, "1 process x %d: %d steps in %.1f s, checkpoint %s%n", W * B, single.iteration(), seconds(t0),
                single.checkpoint());

        // local[W]: W task slots. Plain local mode allows no task failure (spark.task.maxFailures = 1), yet the
        // barrier stage is retried: Spark resubmits a failed barrier stage as a whole, up to
        // spark.stage.maxConsecutiveAttempts (4) times, without counting it as a task retry.
        SparkSession spark = Sessions.start("local[" + W + "]", "ibot4j barrier pretraining");
        List<String> stageFailures = stageFailures(spark);
        List<TaskReport> reports;
        long t1 = System.nanoTime();
        try {
            JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
            Broadcast<FashionImages> images = jsc.broadcast(data);
            RankTask task = new RankTask(images, null, work.resolve("barrier").toString(), STEPS, FAIL_AFTER);
            reports = runStage(jsc, task);
            // The listener bus is asynchronous: give it a moment to deliver the failed attempt's event.
            for (int i = 0; i < 100 && stageFailures.isEmpty(); i++) Thread.sleep(100);
        } finally {
            spark.stop();
        }
        System.out.printf(Locale.ROOT, "barrier stage of %d tasks: %.1f s including the failed attempt%n", W, seconds(t1));
        reports.forEach(r -> System.out.println("  " + r));

        // (2) the failure: Spark's error for the stage, naming what the task threw
        Optional<String> failure = stageFailures.stream().filter(f -> f.contains(INJECTED)).findFirst();
        if (failure.isEmpty()) {
            problems.add("Spark reported no failed stage attempt with the injected failure (stage failures: " + stageFailures + ")");
        } else {
            // Spark's reason, then the task's exception: the first two lines
            System.out.println("stage failed as expected: " + String.join(" / ", failure.get().lines().limit(2).toList()));
        }
        // (3) the retry: both ranks of the stage's later attempt; rank 0 found and opened the checkpoint and resumed there
        TaskReport rank0 = reports.stream().filter(r -> r.rank() == 0).findFirst().orElse(null);
        long resumedAt = rank0 == null ? -1 : rank0.resumeCheckpoint();
        if (reports.size() != W) problems.add("expected " + W + " task reports, got " + reports);
        if (rank0 == null || rank0.stageAttempt() == 0) problems.add("the reports do not come from a retried stage attempt: " + reports);
        long lastSaved = FAIL_AFTER / SAVE_EVERY * SAVE_EVERY;
        if (rank0 != null && (resumedAt != lastSaved || rank0.resumeTensors() == 0)) {
            problems.add("the retry should open the checkpoint of step " + lastSaved + " left by the failed attempt, found step " + resumedAt
                    + " with " + rank0.resumeTensors() + " tensors");
        }
        if (rank0 != null && rank0.firstStep() != resumedAt) {
            problems.add("the retry's first step is " + rank0.firstStep() + ", not the checkpoint's " + resumedAt + ": it did not resume");
        }
        for (TaskReport r : reports) {
            if (r.reached() != STEPS) problems.add("rank " + r.rank() + " stopped at step " + r.reached() + ", not " + STEPS);
        }

        // (1) W x B in the barrier stage against 1 x WB
        double difference = Double.NaN;
        if (rank0 != null && rank0.checkpoint() != null) {
            TeacherDifference d = TeacherDifference.of(single.checkpoint(), Path.of(rank0.checkpoint()));
            difference = d.ratio();
            System.out.printf(Locale.ROOT, "teacher: max |diff| %.3g, largest |weight| %.4g, ratio %.3g (bound %.0e)%n", d.max(), d.largest(), difference,
                    BOUND);
            if (!(difference <= BOUND)) problems.add("the teacher of " + W + " tasks x " + B + " differs from 1 process x " + W * B + " by "
                    + difference + " of the largest weight (bound " + BOUND + ")");
        } else {
            problems.add("rank 0 reported no final checkpoint");
        }

        System.out.printf(Locale.ROOT, "spark barrier pretraining: %d tasks, %d steps, teacher vs 1 process x 2B: %.3g; retry resumed at step %d%n",
                W, STEPS, difference, resumedAt);
        if (!problems.isEmpty()) {
            problems.forEach(p -> System.err.println("spark barrier pretraining FAILED: " + p));
            System.exit(1);
        }
    }

    /** The failure reasons of the session's failed stage attempts, as Spark reports them ("attempt N: reason"), collected as they come. */
    static List<String> stageFailures(SparkSession spark) {
        List<String> failures = new CopyOnWriteArrayList<>();
        spark.sparkContext().addSparkListener(new SparkListener() {
            @Override
            public void onStageCompleted(SparkListenerStageCompleted completed) {
                StageInfo info = completed.stageInfo();
                if (info.failureReason().isDefined()) failures.add("attempt " + info.attemptNumber() + ": " + info.failureReason().get());
            }
        });
        return failures;
    }

    /**
     * The barrier stage of W tasks, one rank each. The shuffle after it is what makes it retryable: Spark
     * retries a failed barrier ShuffleMapStage as a whole, but aborts the job when a barrier ResultStage
     * fails ("Could not recover from a failed barrier ResultStage", Spark 4.2.0: a result stage may have
     * written output).
     */
    static List<TaskReport> runStage(JavaSparkContext jsc, RankTask task) {
        return jsc.parallelize(List.of(0, 1), W).rdd().barrier()
                .mapPartitions(task, false, ClassTag$.MODULE$.<TaskReport>apply(TaskReport.class)).toJavaRDD().repartition(1).collect();
    }

    /**
     * The run both sides train: a tiny ViT (as DistributedTest's), drop-path 0 so that splitting the batch
     * changes nothing; enough epochs for {@code steps} at the global batch W x B.
     *
     * @param data the trainer's --data (read by every rank from storage it sees), or null when the
     *     caller hands the images over itself (the broadcast)
     */
    static PretrainOptions options(Path output, int batchPerRank, int steps, String data) {
        PretrainOptions.Builder b = PretrainOptions.builder().arch(Arch.VIT_TINY).embedDim(32).depth(1).numHeads(2).outDim(64).patchOutDim(64)
                .headHiddenDim(64).headBottleneckDim(16).localCropsNumber(2).batchSizePerGpu(batchPerRank)
                .epochs((steps * W * B + IMAGES - 1) / IMAGES + 1).warmupEpochs(1).warmupTeacherTempEpochs(1).dropPath(0).lr(0.05)
                .saveckpIters(SAVE_EVERY).maxSteps(steps).threads(1).numWorkers(1)
                // a rank whose peer died stops within this time and frees its task slot for the retry
                .distTimeout(60).outputDir(output.toString());
        // Shards are streamed whole (no --subset): name as many images as IMAGES in the shard spec.
        if (data != null) b.dataPath(data);
        if (data != null && !ShardPaths.namesShards(data)) b.subset(IMAGES);
        return b.build();
    }

    /** One task of the barrier stage: one rank. */
    static final class RankTask extends AbstractFunction1<Iterator<Integer>, Iterator<TaskReport>> implements Serializable {
        private final Broadcast<FashionImages> images;
        private final String data;
        private final String output;
        private final int steps;
        private final int failAfter;

        /**
         * @param images the training images, broadcast by the driver; null when {@code data} names them
         * @param data the trainer's --data, which each rank reads itself (null: {@code images})
         * @param output the run folder, on storage every executor sees
         * @param steps the run's length
         * @param failAfter rank 0 throws after this step on the stage's first attempt (0: never)
         */
        RankTask(Broadcast<FashionImages> images, String data, String output, int steps, int failAfter) {
            this.images = images;
            this.data = data;
            this.output = output;
            this.steps = steps;
            this.failAfter = failAfter;
        }

        @Override
        public Iterator<TaskReport> apply(Iterator<Integer> partition) {
            BarrierTaskContext context = BarrierTaskContext.get();
            DistConfig dist = distConfig(context);
            int attempt = context.stageAttemptNumber();
            Path run = Path.of(output);
            // What the retry resumes from, opened here so that a damaged file would show as this task's error.
            long[] resume = {-1, 0};
            if (dist.rank() == 0) newestCheckpoint(run).ifPresent(c -> {
                try (IbotModel model = IbotModel.open(c, 1)) {
                    resume[0] = stepOf(c);
                    resume[1] = model.tensorNames().size();
                }
            });
            long[] firstStep = {-1};
            Pretraining.Listener listener = new Pretraining.Listener() {
                @Override
                public void onStep(Pretraining.Step step) {  // rank 0 only: the writing rank
                    if (firstStep[0] < 0) firstStep[0] = step.iteration();
                    // A crash in the middle of the run, on the stage's first attempt only (Spark's retry is a new attempt).
                    if (attempt == 0 && step.iteration() + 1 == failAfter) {
                        throw new IllegalStateException(INJECTED + ": rank 0 stops after step " + failAfter + " on stage attempt 0");
                    }
                }
            };
            Pretraining.Result outcome;
            try {
                Pretraining.Builder pretraining = Pretraining.of(options(run, B, steps, data)).dist(dist).listener(listener);
                if (images != null) pretraining.data(images.value().source());
                outcome = pretraining.build().run();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            TaskReport report = new TaskReport(dist.rank(), attempt, dist.masterAddr() + ":" + dist.masterPort(), resume[0], (int) resume[1],
                    firstStep[0], outcome.iteration(), outcome.checkpoint() == null ? null : outcome.checkpoint().toString());
            return JavaConverters.asScala(List.of(report).iterator());
        }
    }

    /**
     * torchrun's contract from the barrier context, as TorchDistributor derives it: RANK = partition id,
     * WORLD_SIZE = tasks in the stage, MASTER_ADDR = task 0's host, MASTER_PORT = a port free on task 0's
     * host, chosen there and shared with every task by allGather (also the stage's first barrier: every
     * rank has started). LOCAL_RANK: this task's index among the tasks on its host.
     */
    static DistConfig distConfig(BarrierTaskContext context) {
        BarrierTaskInfo[] tasks = context.getTaskInfos();
        int rank = context.partitionId();
        String[] ports = context.allGather(rank == 0 ? String.valueOf(freePort()) : "");
        String master = host(tasks[0].address());
        int localRank = 0;
        for (int i = 0; i < rank; i++) if (host(tasks[i].address()).equals(host(tasks[rank].address()))) localRank++;
        return new DistConfig(rank, tasks.length, localRank, master, Integer.parseInt(ports[0]), DistConfig.Backend.GLOO, 60);
    }

    /** A barrier task's address is the executor's host:port (its RPC endpoint); the rendezvous needs the host. */
    static String host(String address) {
        int colon = address.lastIndexOf(':');
        return colon > 0 ? address.substring(0, colon) : address;
    }

    private static int freePort() {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException("no free port for the rendezvous on this host", e);
        }
    }

    static Optional<Path> newestCheckpoint(Path run) {
        Path folder = run.resolve("checkpoints");
        if (!Files.isDirectory(folder)) return Optional.empty();
        try (Stream<Path> files = Files.list(folder)) {
            return files.filter(p -> p.getFileName().toString().matches("ckpt-\\d+\\.ibot4j")).max(Comparator.naturalOrder());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The step a checkpoint holds, from its name ckpt-00000004.ibot4j. */
    static long stepOf(Path checkpoint) {
        String name = checkpoint.getFileName().toString();
        return Long.parseLong(name.substring("ckpt-".length(), name.indexOf('.')));
    }

    static double seconds(long since) {
        return (System.nanoTime() - since) / 1e9;
    }

    static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) return;
        try (Stream<Path> all = Files.walk(root)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
        }
    }
}
