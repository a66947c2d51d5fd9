package org.ibot4j.trainer.run.reporting;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BiConsumer;
import java.util.Map;
import org.ibot4j.api.IbotModel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The pictures and pages of one run folder: the checkpoint figures under {@code probes/}, {@code
 * report.html} and {@code loss.png}. All of them are extras: a failure is a warning, never the end of
 * the run (an Error of the JVM's included: a figure that runs out of memory costs itself), and never hides why a run stopped.
 */
public final class RunReporter {
    private static final Logger LOG = LoggerFactory.getLogger(RunReporter.class);
    private final Path output;
    private final RunReport.ModelFacts facts;
    private final CheckpointFigures figures;
    private final BiConsumer<Long, List<CheckpointFigures.Figure>> drawn;

    /**
     * @param output the run folder
     * @param facts what the report needs of the model config
     * @param figures the figures drawn at every checkpoint
     * @param drawn told of each checkpoint's figures once stored (a TensorBoard log, a listener)
     */
    public RunReporter(Path output, RunReport.ModelFacts facts, CheckpointFigures figures, BiConsumer<Long, List<CheckpointFigures.Figure>> drawn) {
        this.output = output;
        this.facts = facts;
        this.figures = figures;
        this.drawn = drawn;
    }

    /** A resumed run drops what its earlier parts wrote after {@code start} (the k-NN rows and figures of steps it repeats). */
    public void keepUpTo(long start) throws IOException {
        MetricsLog.keepKnnUpTo(output.resolve("knn.jsonl"), start);
        ProbeStore.keepUpTo(output, start);
    }

    /** The figures of the checkpoint at {@code step}, then the report. */
    public void afterCheckpoint(IbotModel model, long step, List<Long> keptCheckpoints) {
        drawFigures(model, step, keptCheckpoints);
        report();
    }

    /** Rewrites report.html; a failure is a warning: the report must never stop training or hide why it stopped. */
    public void report() {
        try {
            RunReport.write(output, facts);
        } catch (Exception | OutOfMemoryError | StackOverflowError | LinkageError e) {
            LOG.warn("could not write {}: {}", output.resolve(RunReport.FILE), e.toString());
        }
    }

    /**
     * The report's figures of this checkpoint, then the stored figures thinned to those of the kept
     * checkpoints and a few spread over the run. Figures are extras: any failure costs them, never the run.
     */
    private void drawFigures(IbotModel model, long step, List<Long> keptCheckpoints) {
        try {
            List<CheckpointFigures.Figure> drawnNow = figures.render(model, step);
            ProbeStore.save(output, step, drawnNow);
            ProbeStore.thin(output, keptCheckpoints);
            drawn.accept(step, drawnNow);
        } catch (Exception | OutOfMemoryError | StackOverflowError | LinkageError e) {
            LOG.warn("probe figures at iteration {} left out of the report: {}", step, e.toString());
        }
    }

    /** The loss curve of the whole run so far, resumed parts included; an extra, so a failure is a warning. */
    public void curve() {
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
}
