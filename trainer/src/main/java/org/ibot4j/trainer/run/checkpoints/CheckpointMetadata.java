package org.ibot4j.trainer.run.checkpoints;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import org.ibot4j.api.IbotModel;
import org.ibot4j.api.NativeLibrary;
import org.ibot4j.trainer.run.PretrainSetup;
import org.ibot4j.trainer.run.Versions;

/**
 * The metadata a pretrain checkpoint carries: everything needed to continue the run (iteration,
 * loader state, options, data identity, schedule extensions) and to know where it came from (versions,
 * time written).
 */
public final class CheckpointMetadata {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final PretrainSetup setup;
    private final int worldSize;
    private final ArrayNode extensions;
    private final DataIdentity data;

    /**
     * @param setup the run's setup
     * @param worldSize processes of the run
     * @param extensions the run's schedule extensions so far ({@link ScheduleExtension})
     * @param data the training data's identity
     */
    public CheckpointMetadata(PretrainSetup setup, int worldSize, ArrayNode extensions, DataIdentity data) {
        this.setup = setup;
        this.worldSize = worldSize;
        this.extensions = extensions;
        this.data = data;
    }

    /** Everything needed to continue the run and to know where it came from. */
    public String at(long iteration) {
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

    /** The metadata of a checkpoint, parsed; unreadable metadata is the user's problem, said as such. */
    static JsonNode of(Path checkpoint) {
        try {
            return JSON.readTree(IbotModel.readMetadata(checkpoint));
        } catch (IOException e) {
            throw new IllegalArgumentException(checkpoint + ": unreadable metadata (" + e.getMessage() + ")");
        }
    }

    /** Processes of the run that wrote a checkpoint (1 for checkpoints from before data parallelism). */
    static int worldSizeOf(Path checkpoint) {
        return of(checkpoint).path("loader").path("world_size").asInt(1);
    }

    static long iterationOf(Path checkpoint) {
        return of(checkpoint).path("iteration").asLong(CheckpointStore.iterationOf(checkpoint));
    }
}
