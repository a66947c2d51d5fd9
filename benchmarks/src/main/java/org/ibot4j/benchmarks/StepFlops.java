package org.ibot4j.benchmarks;

import org.ibot4j.api.IbotConfig;

/**
 * Matrix-multiply FLOPs (2 m n k per product, attention's two batched products included; norms,
 * activations and the optimiser ignored) of one iBOT training step. Student backward counts twice its
 * forward (input and weight gradients), except the patch embedding whose input needs no gradient.
 * Two variants: the official step, whose heads run on every token of every crop, and ibot4j's, whose
 * student head runs only on the tokens the loss reads (every CLS and the masked patches of global crops).
 */
public record StepFlops(IbotConfig config, int batchSize, int nGlobal, int nLocal, int globalSize, int localSize) {

    /** Forward FLOPs of the backbone on one crop of {@code size} pixels. */
    public double backbone(int size) {
        double d = config.embedDim(), hidden = d * config.mlpRatio();
        double patches = config.numPatches(size), t = patches + 1 + config.numRegisterTokens();  // registers attend
        double embed = 2 * patches * (config.inChans() * config.patchSize() * config.patchSize()) * d;
        double perBlock = 2 * t * d * 3 * d   // qkv
                + 2 * 2 * t * t * d           // q k^T and attn v over all heads
                + 2 * t * d * d               // proj
                + 2 * 2 * t * d * hidden;     // fc1, fc2
        return embed + config.depth() * perBlock;
    }

    private double patchEmbed(int size) {
        return 2.0 * config.numPatches(size) * (config.inChans() * config.patchSize() * config.patchSize()) * config.embedDim();
    }

    /** Forward FLOPs of the head on one token (MLP, bottleneck, last layer). */
    public double headPerToken() {
        return headMlpPerToken() + lastLayerPerToken();
    }

    private double headMlpPerToken() {
        double d = config.embedDim(), h = config.hiddenDim(), b = config.bottleneckDim();
        return 2 * (d * h + h * h + h * b);
    }

    private double lastLayerPerToken() {
        return 2.0 * config.bottleneckDim() * config.outDim();
    }

    private double tokens(int size) {
        return config.numPatches(size) + 1;  // registers leave the backbone before the head
    }

    private double teacher() {
        return nGlobal * batchSize * (backbone(globalSize) + tokens(globalSize) * headPerToken());
    }

    private double studentBackbone() {
        double forward = nGlobal * batchSize * backbone(globalSize) + nLocal * batchSize * backbone(localSize);
        double embeds = nGlobal * batchSize * patchEmbed(globalSize) + nLocal * batchSize * patchEmbed(localSize);
        return 3 * forward - embeds;
    }

    /**
     * The official step: student head on every token of every crop. The head's MLP runs on all tokens
     * at once, so its backward spans them all; its last layer runs on CLS and patches separately, and
     * the local crops' patch outputs reach no loss term, so autograd skips their backward.
     */
    public double official() {
        double globalTokens = nGlobal * batchSize * tokens(globalSize);
        double localCls = nLocal * (double) batchSize, localPatches = nLocal * batchSize * (tokens(localSize) - 1);
        double mlp = 3 * (globalTokens + localCls + localPatches) * headMlpPerToken();
        double last = (3 * (globalTokens + localCls) + localPatches) * lastLayerPerToken();
        return teacher() + studentBackbone() + mlp + last;
    }

    /** ibot4j's step with {@code maskedPatches} masked patches in the batch's global crops. */
    public double ibot4j(long maskedPatches) {
        double headTokens = (nGlobal + nLocal) * (double) batchSize + maskedPatches;
        return teacher() + studentBackbone() + 3 * headTokens * headPerToken();
    }
}
