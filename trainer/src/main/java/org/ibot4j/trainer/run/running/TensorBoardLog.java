package org.ibot4j.trainer.run.running;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicInteger;
import org.ibot4j.api.StepParams;
import org.ibot4j.api.StepResult;
import org.ibot4j.trainer.eval.viz.Png;
import org.ibot4j.trainer.run.reporting.CheckpointFigures;
import org.ibot4j.trainer.run.reporting.ProbeStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code --tensorboard}: the run's scalars (losses, schedules, collapse metrics, k-NN) and probe figures as
 * a TensorBoard event file in {@code <run>/tensorboard/}, so {@code tensorboard --logdir runs/} shows
 * every run. The TensorBoard step is the number of optimiser steps done ({@code metrics.csv}'s iteration
 * + 1), the step a checkpoint, its k-NN row and its figures carry. A resumed run starts a new file with a
 * SessionLog START at its first step: TensorBoard then drops the older files' events from that step on
 * (written after the checkpoint it resumes from), as the metrics files drop their rows. Writing is an extra: a failure is logged
 * once and stops this log, never the run.
 */
public final class TensorBoardLog implements Pretraining.Listener {
    private static final Logger LOG = LoggerFactory.getLogger(TensorBoardLog.class);
    /** The run folder's subfolder holding the event files. */
    public static final String FOLDER = "tensorboard";
    private static final AtomicInteger FILES = new AtomicInteger();

    private final EventFile file;
    private boolean failed;

    private TensorBoardLog(EventFile file) {
        this.file = file;
    }

    /**
     * A new event file in {@code <run>/tensorboard/}, opened with its version record and the session start.
     *
     * @param run the run folder
     * @param start steps already done (0 for a new run)
     */
    public static TensorBoardLog open(Path run, long start) throws IOException {
        Path dir = Files.createDirectories(run.resolve(FOLDER));
        String name = String.format(Locale.ROOT, "events.out.tfevents.%d.%s.%d.%d", System.currentTimeMillis() / 1000, host(),
                ManagementFactory.getRuntimeMXBean().getPid(), FILES.getAndIncrement());
        TensorBoardLog log = new TensorBoardLog(new EventFile(dir.resolve(name)));
        double now = now();
        log.file.append(new EventFile.Message().float64(1, now).varint(2, start).string(3, "brain.Event:2").toByteArray(),
                // TensorBoard keeps, of the events read before a START, those of earlier steps: the steps up to the checkpoint.
                new EventFile.Message().float64(1, now).varint(2, start + 1).message(7, new EventFile.Message().varint(1, 1)).toByteArray());
        return log;
    }

    /** {@code listener}, and this log when {@code enabled}: what {@code --tensorboard} hooks into a run. */
    static Pretraining.Listener attach(boolean enabled, Path run, long start, Pretraining.Listener listener) throws IOException {
        return enabled ? Pretraining.Listener.both(listener, open(run, start)) : listener;
    }

    /** The event file being written. */
    public Path file() {
        return file.path();
    }

    @Override
    public void onStep(Pretraining.Step step) {
        StepParams p = step.params();
        StepResult r = step.result();
        List<EventFile.Message> values = new ArrayList<>();
        // Losses always, a non-finite one included (TensorBoard draws the gap); other metrics only when measured.
        scalar(values, "loss/total", r.loss(), true);
        scalar(values, "loss/cls", r.clsLoss(), true);
        scalar(values, "loss/patch", r.patchLoss(), true);
        scalar(values, "loss/koleo", r.koleoLoss(), false);
        scalar(values, "schedule/lr", p.lr(), false);
        scalar(values, "schedule/weight_decay", p.weightDecay(), false);
        scalar(values, "schedule/teacher_momentum", p.teacherMomentum(), false);
        scalar(values, "schedule/teacher_temp", p.teacherTemp(), false);
        scalar(values, "schedule/teacher_patch_temp", p.teacherPatchTemp(), false);
        scalar(values, "collapse/teacher_cls_entropy", r.teacherClsEntropy(), false);
        scalar(values, "collapse/teacher_patch_entropy", r.teacherPatchEntropy(), false);
        scalar(values, "collapse/prototypes_used", r.prototypesUsed(), false);
        scalar(values, "collapse/effective_rank", r.effectiveRank(), false);
        scalar(values, "train/grad_norm", r.gradNorm(), false);
        scalar(values, "train/images_per_s", step.imagesPerSecond(), false);
        scalar(values, "train/data_wait_s", step.dataWaitSeconds(), false);
        write(step.iteration() + 1, values);
    }

    @Override
    public void onKnn(Pretraining.Knn knn) {
        List<EventFile.Message> values = new ArrayList<>();
        scalar(values, "knn/top1", knn.accuracy().top1(), false);
        scalar(values, "knn/top5", knn.accuracy().top5(), false);
        write(knn.iteration(), values);
    }

    @Override
    public void onFigures(long iteration, List<CheckpointFigures.Figure> figures) {
        List<EventFile.Message> values = new ArrayList<>();
        for (CheckpointFigures.Figure f : figures) {
            try {
                EventFile.Message image = new EventFile.Message().varint(1, f.image().getHeight()).varint(2, f.image().getWidth())
                        .varint(3, 3).bytes(4, Png.encode(f.image()));
                values.add(new EventFile.Message().string(1, "probes/" + ProbeStore.slug(f.title())).message(4, image));
            } catch (RuntimeException e) {
                fail(e);
                return;
            }
        }
        write(iteration, values);
    }

    private static void scalar(List<EventFile.Message> values, String tag, double v, boolean always) {
        if (always || Double.isFinite(v)) values.add(new EventFile.Message().string(1, tag).float32(2, (float) v));
    }

    /** One event of these summary values at {@code step}. */
    private void write(long step, List<EventFile.Message> values) {
        if (failed || values.isEmpty()) return;
        EventFile.Message summary = new EventFile.Message();
        for (EventFile.Message v : values) summary.message(1, v);
        try {
            file.append(new EventFile.Message().float64(1, now()).varint(2, step).message(5, summary).toByteArray());
        } catch (IOException | RuntimeException e) {
            fail(e);
        }
    }

    private void fail(Exception e) {
        failed = true;
        LOG.warn("TensorBoard log {} stopped (the run goes on; metrics.csv has every step): {}", file.path(), e.toString());
    }

    private static double now() {
        return System.currentTimeMillis() / 1000.0;
    }

    private static String host() {
        try {
            return InetAddress.getLocalHost().getHostName().replaceAll("[^A-Za-z0-9.-]", "_");
        } catch (IOException e) {
            return "localhost";
        }
    }
}
