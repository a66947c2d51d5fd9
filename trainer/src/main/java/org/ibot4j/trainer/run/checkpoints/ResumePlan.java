package org.ibot4j.trainer.run.checkpoints;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import org.ibot4j.trainer.run.PretrainOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where a run starts: the checkpoint it resumes from ({@code --resume}), the options it stored, the
 * options this run uses (the stored ones with this command's run controls) and the iteration it
 * continues at; a new run has no checkpoint, no stored options and starts at 0.
 *
 * @param from the checkpoint resumed from, if any
 * @param stored the options of the run that wrote it, null for a new run
 * @param options the options of this run
 * @param start the first iteration to run
 */
public record ResumePlan(Optional<Path> from, PretrainOptions stored, PretrainOptions options, long start) {
    private static final Logger LOG = LoggerFactory.getLogger(ResumePlan.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Options that may change when a run resumes: they steer the run, not what it computes. */
    public static final Set<String> RUN_CONTROL = Set.of("max_steps", "saveckp_iters", "saveckp_freq", "keep_checkpoints",
            "resume", "extend_schedule", "tensorboard", "change_data", "output_dir", "data_path", "num_workers", "threads", "knn_every", "knn_train", "knn_test", "max_nonfinite", "collapse_warn_steps",
            "nproc_per_node", "nnodes", "node_rank", "master_addr", "master_port", "dist_backend", "dist_timeout");

    /**
     * The plan of a run of {@code world} processes writing to {@code store}.
     *
     * @throws IllegalArgumentException when --resume names no checkpoint, refuses existing ones, or
     *     the options differ from the stored run's
     */
    public static ResumePlan of(PretrainOptions requested, CheckpointStore store, int world) throws IOException {
        Optional<Path> from = resumePoint(requested, store);
        PretrainOptions stored = from.map(ResumePlan::storedOptions).orElse(null);
        PretrainOptions options = stored != null ? merge(stored, requested, CheckpointMetadata.worldSizeOf(from.get()), world) : requested;
        long start = from.map(CheckpointMetadata::iterationOf).orElse(0L);
        return new ResumePlan(from, stored, options, start);
    }

    /** Refuses to go on with other training data than the checkpoint's, unless {@code --change_data}. */
    public void requireSameData(DataIdentity data) {
        if (from.isPresent()) DataIdentity.requireSame(CheckpointMetadata.of(from.get()).get(DataIdentity.KEY), data, options.changeData);
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
        JsonNode options = CheckpointMetadata.of(checkpoint).get("options");
        if (options == null) throw new IllegalArgumentException(checkpoint + " was not written by 'ibot4j pretrain' (no options in its metadata)");
        return readOptions(options, checkpoint.toString());
    }

    private static PretrainOptions readOptions(JsonNode options, String origin) {
        try {
            // Every stored value was the run's choice (data-dependent defaults included): none may be re-derived.
            Set<String> given = new LinkedHashSet<>();
            options.fieldNames().forEachRemaining(given::add);
            // Options a newer or older ibot4j stored and this one does not know are left out.
            return JSON.readerFor(PretrainOptions.class).without(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
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
}
