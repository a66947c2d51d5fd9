package org.ibot4j.examples.spark;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.SparkSession;
import org.ibot4j.examples.spark.BarrierPretraining.RankTask;
import org.ibot4j.examples.spark.BarrierPretraining.TaskReport;
import org.ibot4j.trainer.run.checkpoints.TeacherDifference;
import org.ibot4j.trainer.run.running.Pretraining;

/**
 * Barrier-mode pretraining on a real cluster (ci/spark-cluster: a standalone master and two workers,
 * one core each): one process with the whole batch, then two barrier runs of {@link #STEPS} steps, W
 * tasks x B. The first runs uninterrupted; during the second an executor JVM is killed from outside
 * (ci/spark-cluster sends SIGKILL once the run folder {@value #KILLED} holds its first checkpoint): Spark
 * loses the task, fails the barrier stage and runs it again on the executor the worker starts in its
 * place, and the new attempt resumes from the newest checkpoint.
 *
 * <p>Checks, each failing the program with status 1: the uninterrupted run's teacher equals the one
 * process's within {@link BarrierPretraining#BOUND} of the largest weight; the killed run failed a stage
 * attempt, its retry started at the newest checkpoint and reached the last step, and its final teacher
 * equals the uninterrupted run's within the same bound.
 *
 * <p>Arguments: a work folder (replaced; on storage every executor sees) and optionally {@code --data
 * SPEC}: the trainer's --data, read by every rank from that storage instead of images the driver
 * broadcasts (the first {@link BarrierPretraining#IMAGES} of it).
 */
public final class ClusterPretraining {
    static final int STEPS = 40;
    static final String KILLED = "killed";

    private ClusterPretraining() {}

    public static void main(String[] args) throws Exception {
        Path work = Path.of(args[0]).toAbsolutePath();
        String data = args.length > 2 && args[1].equals("--data") ? args[2] : null;
        BarrierPretraining.deleteTree(work);
        Files.createDirectories(work);
        FashionImages images = data == null ? FashionImages.read("train", BarrierPretraining.IMAGES) : null;
        List<String> problems = new ArrayList<>();
        int w = BarrierPretraining.W, b = BarrierPretraining.B;

        long t0 = System.nanoTime();
        Pretraining.Builder reference = Pretraining.of(BarrierPretraining.options(work.resolve("single"), w * b, STEPS, data));
        if (images != null) reference.data(images.source());
        Pretraining.Result single = reference.build().run();
        System.out.printf(Locale.ROOT, "1 process x %d: %d steps in %.1f s%n", w * b, single.iteration(), BarrierPretraining.seconds(t0));

        SparkSession spark = Sessions.start("local[" + w + "]", "ibot4j barrier pretraining on a cluster");
        List<String> stageFailures = BarrierPretraining.stageFailures(spark);
        List<TaskReport> whole, killed;
        try {
            JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
            Broadcast<FashionImages> shared = images == null ? null : jsc.broadcast(images);
            long t1 = System.nanoTime();
            whole = BarrierPretraining.runStage(jsc, new RankTask(shared, data, work.resolve("uninterrupted").toString(), STEPS, 0));
            System.out.printf(Locale.ROOT, "uninterrupted barrier run: %.1f s%n", BarrierPretraining.seconds(t1));
            whole.forEach(r -> System.out.println("  " + r));
            int failedBefore = stageFailures.size();
            if (failedBefore > 0) problems.add("the uninterrupted run failed a stage attempt: " + stageFailures);
            long t2 = System.nanoTime();
            killed = BarrierPretraining.runStage(jsc, new RankTask(shared, data, work.resolve(KILLED).toString(), STEPS, 0));
            System.out.printf(Locale.ROOT, "barrier run with a killed executor: %.1f s%n", BarrierPretraining.seconds(t2));
            killed.forEach(r -> System.out.println("  " + r));
            for (int i = 0; i < 100 && stageFailures.size() == failedBefore; i++) Thread.sleep(100);  // the listener bus is asynchronous
            List<String> failures = stageFailures.subList(failedBefore, stageFailures.size());
            if (failures.isEmpty()) problems.add("no stage attempt of the killed run failed: was an executor killed during it?");
            else System.out.println("stage failed: " + String.join(" / ", failures.get(0).lines().limit(2).toList()));
        } finally {
            spark.stop();
        }

        Path wholeLast = rank0(whole, problems, "uninterrupted", 0);
        double d = teacherRatio(single.checkpoint(), wholeLast, problems, "1 process x " + w * b);
        TaskReport retried = rank0Report(killed);
        Path killedLast = rank0(killed, problems, "killed", 1);
        if (retried != null && (retried.resumeCheckpoint() <= 0 || retried.firstStep() != retried.resumeCheckpoint())) {
            problems.add("the retry did not resume from a checkpoint: newest at its start " + retried.resumeCheckpoint() + ", first step "
                    + retried.firstStep());
        }
        double d2 = teacherRatio(wholeLast, killedLast, problems, "the uninterrupted run");
        System.out.printf(Locale.ROOT, "spark cluster barrier: %d tasks, %d steps, teacher vs 1 process x 2B: %s; killed run: stage attempt %d "
                        + "resumed at step %d, final teacher vs uninterrupted: %s%n", w, STEPS, SparkEmbedding.difference(d),
                retried == null ? -1 : retried.stageAttempt(), retried == null ? -1 : retried.resumeCheckpoint(), SparkEmbedding.difference(d2));
        if (!problems.isEmpty()) {
            problems.forEach(p -> System.err.println("spark cluster pretraining FAILED: " + p));
            System.exit(1);
        }
    }

    private static TaskReport rank0Report(List<TaskReport> reports) {
        return reports.stream().filter(r -> r.rank() == 0).findFirst().orElse(null);
    }

    /** Rank 0's final checkpoint, after checking that both ranks reached the last step on an attempt >= {@code minAttempt}. */
    private static Path rank0(List<TaskReport> reports, List<String> problems, String run, int minAttempt) {
        if (reports.size() != BarrierPretraining.W) problems.add("the " + run + " run: expected " + BarrierPretraining.W + " reports, got " + reports);
        for (TaskReport r : reports) {
            if (r.reached() != STEPS) problems.add("the " + run + " run: rank " + r.rank() + " stopped at step " + r.reached() + ", not " + STEPS);
            if (r.stageAttempt() < minAttempt) problems.add("the " + run + " run's reports come from stage attempt " + r.stageAttempt());
        }
        TaskReport rank0 = rank0Report(reports);
        if (rank0 == null || rank0.checkpoint() == null) {
            problems.add("the " + run + " run: rank 0 reported no final checkpoint");
            return null;
        }
        return Path.of(rank0.checkpoint());
    }

    /** max |difference| of the teachers over the largest weight; NaN (and a problem) when either is missing or it exceeds the bound. */
    private static double teacherRatio(Path reference, Path other, List<String> problems, String against) {
        if (reference == null || other == null) return Double.NaN;
        TeacherDifference d = TeacherDifference.of(reference, other);
        double ratio = d.ratio();
        System.out.printf(Locale.ROOT, "teacher vs %s: max |diff| %.3g, largest |weight| %.4g, ratio %.3g (bound %.0e)%n", against, d.max(), d.largest(), ratio,
                BarrierPretraining.BOUND);
        if (!(ratio <= BarrierPretraining.BOUND)) problems.add("the teacher differs from " + against + " by " + ratio + " of the largest weight");
        return ratio;
    }
}
