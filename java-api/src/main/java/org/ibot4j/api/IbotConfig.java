package org.ibot4j.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonDeserialize;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;

/**
 * Architecture, loss and optimiser constants of an iBOT model, mirroring the C struct
 * {@code ibot4j_config} field for field (the same names in snake_case: {@code embed_dim},
 * {@code out_dim}, {@code shared_head}, ...). This record and that struct are the only hand-written
 * definitions of the configuration: the native struct is filled from the record's components by
 * name, JSON is Jackson's view of the record, and a test fails when the two disagree.
 *
 * <p>Per-step values (lr, weight decay, teacher momentum and temperatures) are not here: they come
 * with each step, see {@link StepParams}. Build one with {@link #builder()}; construction reports
 * every problem at once as an {@link InvalidConfigException}.
 *
 * @param imgSize image size the positional embedding is built for (other sizes are interpolated)
 * @param patchSize patch side in pixels
 * @param inChans input channels
 * @param embedDim token width
 * @param depth number of transformer blocks
 * @param numHeads attention heads per block
 * @param mlpRatio MLP hidden width over embedDim
 * @param qkvBias whether the qkv projection has a bias (DINOv3: query and value biases, the key's fixed at 0)
 * @param family the backbone layout: the official iBOT ViT, or timm's DINOv2 or DINOv3
 * @param numRegisterTokens registers (DINOv2) or storage tokens (DINOv3): they take part in attention but are not output
 * @param layerScaleInit LayerScale's initial gamma; 0 = no LayerScale (official iBOT)
 * @param swiglu whether the MLP is a SwiGLU (DINOv2 giant, DINOv3 S+ and H+)
 * @param dropPathRate stochastic depth of the student's last block (linear in depth; the teacher uses 0)
 * @param outDim K, the [CLS] projection's output size
 * @param patchOutDim K', the patch projection's output size (must equal outDim when a head is shared)
 * @param hiddenDim head MLP width
 * @param bottleneckDim head bottleneck width
 * @param sharedHead whether the student's patch tokens use the [CLS] projection
 * @param sharedHeadTeacher the same for the teacher (the official default is true)
 * @param normLastLayer whether the weight-norm gain of the last layers is fixed at 1
 * @param studentTemp student softmax temperature
 * @param centerMomentum EMA momentum of the [CLS] centre
 * @param centerMomentum2 EMA momentum of the patch centre
 * @param lambda1 weight of the [CLS] loss
 * @param lambda2 weight of the masked-patch loss
 * @param beta1 AdamW beta1
 * @param beta2 AdamW beta2
 * @param eps AdamW epsilon
 * @param centering how the teacher's outputs become targets: the official EMA centre, or DINOv2's Sinkhorn-Knopp (opt-in)
 * @param koleoLossWeight weight of DINOv2's KoLeo regulariser on the student's global [CLS] tokens; 0 (official) turns it off
 * @param layerDecay layer-wise learning-rate decay in (0, 1] (BEiT / DINOv2 fine-tuning): block i's lr is multiplied by
 *        layerDecay^(depth - i), the patch embedding's and tokens' by layerDecay^(depth + 1); 1 (default) turns it off
 * @param backboneLrMultiplier the backbone's learning rate relative to the heads', >= 0; 1 (default) turns it off
 * @param gramLossWeight weight of DINOv3's Gram anchoring of the student's patch tokens to a Gram teacher's; 0 (default) turns it off
 * @param distillLossWeight weight of feature distillation from a frozen teacher backbone (the {@code distill*} fields, see
 *        {@link #distillTeacher()}); 0 (default) turns it off
 * @param distillFamily the distillation teacher's family
 * @param distillImgSize the distillation teacher's image size (its learned positions)
 * @param distillPatchSize the distillation teacher's patch size
 * @param distillEmbedDim the distillation teacher's width
 * @param distillDepth the distillation teacher's blocks
 * @param distillNumHeads the distillation teacher's attention heads
 * @param distillMlpRatio the distillation teacher's MLP ratio
 * @param distillQkvBias whether the distillation teacher has qkv biases
 * @param distillNumRegisterTokens the distillation teacher's registers / storage tokens
 * @param distillLayerScaleInit the distillation teacher's LayerScale initial value (0: none)
 * @param distillSwiglu whether the distillation teacher's MLP is a SwiGLU
 * @param seed seed of initialisation and drop-path
 * @param numThreads LibTorch intra-op threads (process-wide); 0 keeps the current setting
 * @param device where the model lives
 * @param bf16Autocast bf16 autocast for forward passes (CUDA, or a CPU with native bf16: see {@link LibTorchInfo#cpuNativeBf16()})
 * @param forceBf16 allow bf16 autocast on a CPU without native bf16 (emulated, slower than fp32)
 */
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
@JsonDeserialize(builder = IbotConfigBuilder.class)
public record IbotConfig(
        int imgSize,
        int patchSize,
        int inChans,
        int embedDim,
        int depth,
        int numHeads,
        double mlpRatio,
        boolean qkvBias,
        Family family,
        int numRegisterTokens,
        double layerScaleInit,
        boolean swiglu,
        double dropPathRate,
        int outDim,
        int patchOutDim,
        int hiddenDim,
        int bottleneckDim,
        boolean sharedHead,
        boolean sharedHeadTeacher,
        boolean normLastLayer,
        double studentTemp,
        double centerMomentum,
        double centerMomentum2,
        double lambda1,
        double lambda2,
        double beta1,
        double beta2,
        double eps,
        Centering centering,
        double koleoLossWeight,
        double layerDecay,
        double backboneLrMultiplier,
        double gramLossWeight,
        double distillLossWeight,
        Family distillFamily,
        int distillImgSize,
        int distillPatchSize,
        int distillEmbedDim,
        int distillDepth,
        int distillNumHeads,
        double distillMlpRatio,
        boolean distillQkvBias,
        int distillNumRegisterTokens,
        double distillLayerScaleInit,
        boolean distillSwiglu,
        long seed,
        int numThreads,
        Device device,
        boolean bf16Autocast,
        boolean forceBf16) {

    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * Refuses only what the C struct cannot hold (an unset enum). The rules of a configuration are the
     * native library's ({@code config_problems} in native/src/config.cpp), asked for by {@link IbotConfigBuilder#build()}
     * and {@link #fromJson(JsonNode)} and applied again when a model or encoder is created from it.
     */
    public IbotConfig {
        Problems p = new Problems();
        p.require(family != null, "family must be set (ibot, dinov2 or dinov3)");
        p.require(centering != null, "centering must be set (centering or sinkhorn_knopp)");
        p.require(distillFamily != null, "distill_family must be set (ibot, dinov2 or dinov3)");
        p.require(device != null, "device must be set");
        p.throwIfAny("ibot4j config");
    }

    /**
     * The feature-distillation teacher's backbone as a configuration of its own: this one with the {@code distill*}
     * fields in place of the backbone's (the native side builds the same, {@code distill_teacher_config}).
     *
     * @return the teacher's configuration (no distillation of its own)
     */
    public IbotConfig distillTeacher() {
        return toBuilder().family(distillFamily).imgSize(distillImgSize).patchSize(distillPatchSize).embedDim(distillEmbedDim).depth(distillDepth)
                .numHeads(distillNumHeads).mlpRatio(distillMlpRatio).qkvBias(distillQkvBias).numRegisterTokens(distillNumRegisterTokens)
                .layerScaleInit(distillLayerScaleInit).swiglu(distillSwiglu).dropPathRate(0).distillLossWeight(0).gramLossWeight(0).build();
    }

    /**
     * Number of patch tokens of a square crop.
     *
     * @param size crop side in pixels
     * @return (size / patchSize)^2
     */
    public int numPatches(int size) {
        int side = size / patchSize;
        return side * side;
    }

    /**
     * Output size of the patch logits: outDim when either side shares its head, as the official loss sizes its patch centre.
     *
     * @return the width of both networks' patch logits
     */
    public int effectivePatchOutDim() {
        return sharedHead || sharedHeadTeacher ? outDim : patchOutDim;
    }

    /**
     * This configuration as JSON with the C struct's field names.
     *
     * @return a new JSON object
     */
    public ObjectNode toJson() {
        return JSON.valueToTree(this);
    }

    /**
     * Reads a configuration written by {@link #toJson()}; absent fields keep the builder's defaults,
     * unknown fields are an error.
     *
     * @param json a JSON object
     * @return the configuration
     * @throws InvalidConfigException when a field is unknown, of the wrong type, or out of range
     */
    public static IbotConfig fromJson(JsonNode json) {
        try {
            return JSON.treeToValue(json, IbotConfig.class);
        } catch (JsonProcessingException e) {
            if (e.getCause() instanceof InvalidConfigException invalid) throw invalid;
            throw new InvalidConfigException("ibot4j config", List.of(e.getOriginalMessage()));
        }
    }

    /**
     * A builder with the official code's defaults for ViT-S/16 at 224 px.
     *
     * @return a new builder
     */
    public static IbotConfigBuilder builder() {
        return new IbotConfigBuilder();
    }

    /**
     * A builder starting from this configuration's values.
     *
     * @return a new builder
     */
    public IbotConfigBuilder toBuilder() {
        return new IbotConfigBuilder(this);
    }
}
