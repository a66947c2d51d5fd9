package org.ibot4j.trainer.run.checkpoints;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Locale;
import org.ibot4j.api.StepParams;
import org.ibot4j.trainer.run.PretrainOptions;
import org.ibot4j.trainer.run.PretrainSetup;
import org.ibot4j.trainer.schedule.Schedules;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code --extend_schedule}: a resumed run may get a larger {@code --epochs}. As the official
 * {@code main_ibot.py} does on every restart, the schedules are recomputed from the options over the
 * new length and the run continues at its saved iteration, so lr, weight decay and teacher momentum
 * jump to the new curves' values there. Such a run no longer equals an uninterrupted one; every
 * extension is kept in the checkpoints' metadata and in {@code options.json} under {@link #KEY}.
 */
public final class ScheduleExtension {
    /** Key of the extension history in checkpoint metadata and options.json (a record of the run, not an option). */
    public static final String KEY = "schedule_extensions";

    private static final Logger LOG = LoggerFactory.getLogger(ScheduleExtension.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    private ScheduleExtension() {}

    /** Extensions made so far in the run that wrote {@code checkpoint} (empty for a run never extended). */
    public static ArrayNode history(Path checkpoint) {
        JsonNode stored = CheckpointMetadata.of(checkpoint).get(KEY);
        return stored instanceof ArrayNode a ? a.deepCopy() : JSON.createArrayNode();
    }

    /**
     * When {@code setup} is longer than the stored run, appends the extension to {@code history} and
     * warns with the schedules' values before and after at the resumed iteration.
     */
    public static void recordIfExtended(ArrayNode history, PretrainOptions stored, PretrainSetup setup, int globalBatch, long resumedAt) {
        PretrainOptions now = setup.options();
        if (now.epochs == stored.epochs) return;
        Schedules before = PretrainSetup.schedules(stored, globalBatch, setup.itersPerEpoch());
        // What the old curves gave at this step, or at their last step when the run had finished them.
        StepParams old = before.at(Math.min(resumedAt, before.lr().totalIters() - 1));
        StepParams next = setup.schedules().at(resumedAt);
        ObjectNode e = history.addObject();
        e.put("iteration", resumedAt);
        e.put("epochs_before", stored.epochs);
        e.put("epochs_after", now.epochs);
        e.put("lr_before", old.lr()).put("lr_after", next.lr());
        e.put("written", Instant.now().toString());
        e.put("note", "schedules recomputed over " + now.epochs + " epochs at iteration " + resumedAt
                + ": this run is not equal to an uninterrupted " + now.epochs + "-epoch run");
        LOG.warn(String.format(Locale.ROOT, "--extend_schedule: the schedules now span %d epochs instead of %d and continue at iteration %d "
                        + "(lr %.4g -> %.4g, weight decay %.4g -> %.4g, teacher momentum %.6f -> %.6f); this run is no longer equal to "
                        + "an uninterrupted %d-epoch run (recorded as %s in options.json and the checkpoints)",
                now.epochs, stored.epochs, resumedAt, old.lr(), next.lr(), old.weightDecay(), next.weightDecay(), old.teacherMomentum(),
                next.teacherMomentum(), now.epochs, KEY));
    }
}
