package org.ibot4j.trainer.run;

import java.util.OptionalLong;
import org.ibot4j.api.IbotConfig;
import org.ibot4j.api.ProcessLimits;
import org.ibot4j.trainer.data.MultiCropAugmentation;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The resident memory a pretraining process needs, estimated from its configuration, so that a run its
 * memory limit (a cgroup's {@code memory.max}, a container's limit) cannot hold is refused before it
 * starts, with a sentence, instead of being killed by the kernel in its first step without one.
 *
 * <p>The estimate counts float32 tensors: the student's weights, gradients and two AdamW moments, the
 * teacher's weights, the activations autograd keeps for the student's backward pass (per token and
 * block: the LayerNorm inputs, q/k/v, the attention output and projection, the MLP's hidden layer before
 * and after GELU; per head and crop: the attention probabilities), the heads' activations and logits,
 * plus what the JVM and LibTorch hold before the first step. It is a lower bound in spirit (allocator
 * slack and temporaries come on top): it refuses only runs that cannot fit, and warns near the limit.
 */
final class RunMemory {
    private static final Logger LOG = LoggerFactory.getLogger(RunMemory.class);

    /** The JVM, LibTorch's code and the loader's queues before the first step (measured: 0.35-0.45 GiB). */
    static final long BASELINE_BYTES = 350L << 20;

    private RunMemory() {}

    /** Estimated peak resident bytes of one process training {@code model} on {@code batch} images a step. */
    static long estimateBytes(IbotConfig model, MultiCropAugmentation.Options crops, int batch) {
        long d = model.embedDim(), depth = model.depth(), heads = model.numHeads(), p = model.patchSize();
        long hidden = Math.round(d * model.mlpRatio());
        long tg = square(crops.globalSize() / p) + 1, tl = square(crops.localSize() / p) + 1;
        long tokens = batch * (crops.nGlobal() * tg + crops.nLocal() * tl);
        long attention = batch * heads * (crops.nGlobal() * tg * tg + crops.nLocal() * tl * tl);
        long backboneActivations = depth * (tokens * (6 * d + 2 * hidden) + attention);

        long backbone = p * p * model.inChans() * d + (tg + 1) * d + depth * (4 * d * d + 2 * d * hidden + 9 * d + hidden) + 2 * d;
        long headMlp = d * model.hiddenDim() + model.hiddenDim() * model.hiddenDim() + model.hiddenDim() * model.bottleneckDim();
        long head = headMlp + (long) model.bottleneckDim() * model.outDim()
                + (model.sharedHead() ? 0 : (long) model.bottleneckDim() * model.patchOutDim());
        long params = backbone + head;
        // Student: weights, gradients, two AdamW moments; teacher: weights.
        long state = 5 * params;

        long clsRows = batch * (crops.nGlobal() + crops.nLocal()), patchRows = batch * crops.nGlobal() * tg;
        long headActivations = (clsRows + patchRows) * (3L * model.hiddenDim() + model.bottleneckDim())
                + 3 * (clsRows * model.outDim() + patchRows * (long) model.patchOutDim());
        return BASELINE_BYTES + Float.BYTES * (state + backboneActivations + headActivations);
    }

    /**
     * Refuses a run whose estimate exceeds the memory limit of this process; warns above 80 % of it.
     *
     * @throws IllegalStateException naming the estimate, the limit and what to lower
     */
    static void check(PretrainSetup setup) {
        OptionalLong limit = ProcessLimits.memoryLimitBytes();
        if (limit.isEmpty()) return;
        long need = estimateBytes(setup.model(), setup.augmentation().options(), setup.options().batchSizePerGpu);
        String sizes = "about " + ProcessLimits.gib(need) + " for " + setup.options().batchSizePerGpu + " images a step of this model, and the "
                + "memory limit of this process (its cgroup) is " + ProcessLimits.gib(limit.getAsLong());
        if (need > limit.getAsLong()) {
            throw new IllegalStateException("this run cannot fit: it needs " + sizes + "; lower --batch_size (memory grows with it), "
                    + "the crop sizes or the number of local crops, or raise the limit");
        }
        if (need > limit.getAsLong() * 0.8) LOG.warn("the run needs {}: close to the limit, the kernel may end it", sizes);
    }

    private static long square(long v) {
        return v * v;
    }
}
