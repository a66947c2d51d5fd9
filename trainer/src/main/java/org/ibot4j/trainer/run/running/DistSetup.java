package org.ibot4j.trainer.run.running;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Map;
import org.ibot4j.api.DistConfig;
import org.ibot4j.api.ProcessGroup;
import org.ibot4j.trainer.run.PretrainOptions;
import org.ibot4j.trainer.run.checkpoints.ResumePlan;

/** Which data-parallel group a pretrain process belongs to, and the check that every rank runs the same run. */
public final class DistSetup {
    private static final ObjectMapper JSON = new ObjectMapper();

    private DistSetup() {}

    /** The group described by torchrun's variables in this process's environment, or null when none are set. */
    public static DistConfig fromEnvironment(PretrainOptions o) {
        return fromEnvironment(System.getenv(), o);
    }

    static DistConfig fromEnvironment(Map<String, String> env, PretrainOptions o) {
        DistConfig.Backend backend = o.distBackend.isEmpty() ? DistConfig.Backend.defaultFor(o.device) : DistConfig.Backend.of(o.distBackend);
        DistConfig config = DistConfig.fromEnvironment(env, backend, o.distTimeout);
        return config == null || config.worldSize() == 1 && config.rank() == 0 ? null : config;
    }

    /**
     * Every rank must train the same run on the same data: a fingerprint of the training options and
     * the dataset size is compared over the group (its minimum and maximum must agree) before any step.
     */
    static void requireSameRun(ProcessGroup group, PretrainOptions options, int datasetSize) {
        ObjectNode training = JSON.valueToTree(options);
        ResumePlan.RUN_CONTROL.forEach(training::remove);
        training.put("dataset_images", datasetSize);
        double mine = fingerprint(training.toString());
        double[] low = {mine}, high = {mine};
        group.allReduce(low, ProcessGroup.Reduce.MIN);
        group.allReduce(high, ProcessGroup.Reduce.MAX);
        if (low[0] != high[0]) {
            throw new IllegalArgumentException("the ranks were started with different training options or data (rank "
                    + group.config().rank() + " has " + training + "); start every rank with the same command and data");
        }
    }

    /** 52 bits of SHA-256: exact in a double, so min and max over the group compare it exactly. */
    private static double fingerprint(String text) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
            long bits = 0;
            for (int i = 0; i < 8; i++) bits = (bits << 8) | (digest[i] & 0xff);
            return (double) (bits >>> 12);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
