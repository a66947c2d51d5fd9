package org.ibot4j.api;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonDeserialize;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import com.fasterxml.jackson.databind.annotation.JsonPOJOBuilder;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.RecordComponent;
import java.util.Arrays;
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
@JsonDeserialize(builder = IbotConfig.Builder.class)
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
    private static final RecordComponent[] COMPONENTS = IbotConfig.class.getRecordComponents();
    private static final Constructor<IbotConfig> CANONICAL = canonical();

    /**
     * Refuses only what the C struct cannot hold (an unset enum). The rules of a configuration are the
     * native library's ({@code config_problems} in native/src/config.cpp), asked for by {@link Builder#build()}
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

    private static Constructor<IbotConfig> canonical() {
        try {
            return IbotConfig.class.getDeclaredConstructor(Arrays.stream(COMPONENTS).map(RecordComponent::getType).toArray(Class<?>[]::new));
        } catch (NoSuchMethodException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * A builder with the official code's defaults for ViT-S/16 at 224 px.
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * A builder starting from this configuration's values.
     *
     * @return a new builder
     */
    public Builder toBuilder() {
        return new Builder(this);
    }

    /**
     * Fluent construction of an {@link IbotConfig}, one setter per component (a test checks that none
     * is missing). Defaults are the official code defaults for ViT-S/16 at 224 px.
     */
    @JsonPOJOBuilder(withPrefix = "")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    @JsonIgnoreProperties({"arch"})
    public static final class Builder {
        private int imgSize = 224, patchSize = 16, inChans = 3, embedDim = 384, depth = 12, numHeads = 6;
        private double mlpRatio = 4.0;
        private boolean qkvBias = true;
        private Family family = Family.IBOT;
        private int numRegisterTokens = 0;
        private double layerScaleInit = 0;
        private boolean swiglu = false;
        private double dropPathRate = 0.1;
        private int outDim = 8192, patchOutDim = 8192, hiddenDim = 2048, bottleneckDim = 256;
        private boolean sharedHead = false, sharedHeadTeacher = true, normLastLayer = true;
        private double studentTemp = 0.1, centerMomentum = 0.9, centerMomentum2 = 0.9, lambda1 = 1.0, lambda2 = 1.0;
        private double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
        private Centering centering = Centering.CENTERING;
        private double koleoLossWeight = 0;
        private double layerDecay = 1;
        private double backboneLrMultiplier = 1;
        private double gramLossWeight = 0;
        private double distillLossWeight = 0;
        private Family distillFamily = Family.IBOT;
        private int distillImgSize = 0, distillPatchSize = 0, distillEmbedDim = 0, distillDepth = 0, distillNumHeads = 0;
        private double distillMlpRatio = 0;
        private boolean distillQkvBias = false;
        private int distillNumRegisterTokens = 0;
        private double distillLayerScaleInit = 0;
        private boolean distillSwiglu = false;
        private long seed = 0;
        private int numThreads = 0;
        private Device device = Device.CPU;
        private boolean bf16Autocast = false;
        private boolean forceBf16 = false;

        private Builder() {}

        /** The builder's fields carry the components' names: copying and building go through them by name. */
        private Builder(IbotConfig c) {
            try {
                for (RecordComponent rc : COMPONENTS) Builder.class.getDeclaredField(rc.getName()).set(this, rc.getAccessor().invoke(c));
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException("IbotConfig.Builder lacks a field per component", e);
            }
        }

        /**
         * Sets the backbone of a named architecture: embed_dim, depth, num_heads and the family's layout; a
         * DINOv2 or DINOv3 name also sets patch_size, img_size, mlp_ratio and qkv_bias to timm's values.
         *
         * @param name an {@link Arch} name: vit_small (official iBOT sizes) or timm's, e.g. vit_small_patch16_dinov3
         * @return this builder
         * @throws InvalidConfigException for an unknown name
         */
        public Builder arch(String name) {
            Arch arch = Arch.of(name);
            embedDim = arch.embedDim();
            depth = arch.depth();
            numHeads = arch.numHeads();
            family = arch.family();
            numRegisterTokens = arch.numRegisterTokens();
            layerScaleInit = arch.layerScaleInit();
            swiglu = arch.swiglu();
            if (arch.family() != Family.IBOT) {
                patchSize = arch.patchSize();
                imgSize = arch.imgSize();
                mlpRatio = arch.mlpRatio();
                qkvBias = arch.qkvBias();
            }
            return this;
        }

        /** @param v image size pos_embed is built for @return this builder */
        public Builder imgSize(int v) { imgSize = v; return this; }
        /** @param v patch side in pixels @return this builder */
        public Builder patchSize(int v) { patchSize = v; return this; }
        /** @param v input channels @return this builder */
        public Builder inChans(int v) { inChans = v; return this; }
        /** @param v token width @return this builder */
        public Builder embedDim(int v) { embedDim = v; return this; }
        /** @param v number of blocks @return this builder */
        public Builder depth(int v) { depth = v; return this; }
        /** @param v attention heads @return this builder */
        public Builder numHeads(int v) { numHeads = v; return this; }
        /** @param v MLP ratio @return this builder */
        public Builder mlpRatio(double v) { mlpRatio = v; return this; }
        /** @param v qkv bias @return this builder */
        public Builder qkvBias(boolean v) { qkvBias = v; return this; }
        /** @param v backbone family @return this builder */
        public Builder family(Family v) { family = v; return this; }
        /** @param v registers / storage tokens @return this builder */
        public Builder numRegisterTokens(int v) { numRegisterTokens = v; return this; }
        /** @param v LayerScale's initial gamma, 0 = none @return this builder */
        public Builder layerScaleInit(double v) { layerScaleInit = v; return this; }
        /** @param v SwiGLU MLP @return this builder */
        public Builder swiglu(boolean v) { swiglu = v; return this; }
        /** @param v student drop-path rate @return this builder */
        public Builder dropPathRate(double v) { dropPathRate = v; return this; }
        /** @param v [CLS] output size K @return this builder */
        public Builder outDim(int v) { outDim = v; return this; }
        /** @param v patch output size K' @return this builder */
        public Builder patchOutDim(int v) { patchOutDim = v; return this; }
        /** @param v head MLP width @return this builder */
        public Builder hiddenDim(int v) { hiddenDim = v; return this; }
        /** @param v head bottleneck width @return this builder */
        public Builder bottleneckDim(int v) { bottleneckDim = v; return this; }
        /** @param v student head shared by [CLS] and patches @return this builder */
        public Builder sharedHead(boolean v) { sharedHead = v; return this; }
        /** @param v teacher head shared by [CLS] and patches @return this builder */
        public Builder sharedHeadTeacher(boolean v) { sharedHeadTeacher = v; return this; }
        /** @param v weight-norm gain fixed at 1 @return this builder */
        public Builder normLastLayer(boolean v) { normLastLayer = v; return this; }
        /** @param v student temperature @return this builder */
        public Builder studentTemp(double v) { studentTemp = v; return this; }
        /** @param v [CLS] centre momentum @return this builder */
        public Builder centerMomentum(double v) { centerMomentum = v; return this; }
        /** @param v patch centre momentum @return this builder */
        public Builder centerMomentum2(double v) { centerMomentum2 = v; return this; }
        /** @param v [CLS] loss weight @return this builder */
        public Builder lambda1(double v) { lambda1 = v; return this; }
        /** @param v patch loss weight @return this builder */
        public Builder lambda2(double v) { lambda2 = v; return this; }
        /** @param v AdamW beta1 @return this builder */
        public Builder beta1(double v) { beta1 = v; return this; }
        /** @param v AdamW beta2 @return this builder */
        public Builder beta2(double v) { beta2 = v; return this; }
        /** @param b1 AdamW beta1 @param b2 AdamW beta2 @return this builder */
        public Builder betas(double b1, double b2) { beta1 = b1; beta2 = b2; return this; }
        /** @param v AdamW epsilon @return this builder */
        public Builder eps(double v) { eps = v; return this; }
        /** @param v teacher targets: centering (official) or sinkhorn_knopp (DINOv2) @return this builder */
        public Builder centering(Centering v) { centering = v; return this; }
        /** @param v KoLeo weight on the student's global [CLS] tokens, 0 = off @return this builder */
        public Builder koleoLossWeight(double v) { koleoLossWeight = v; return this; }
        /** @param v layer-wise lr decay in (0, 1], 1 = off @return this builder */
        public Builder layerDecay(double v) { layerDecay = v; return this; }
        /** @param v the backbone's lr relative to the heads', 1 = off @return this builder */
        public Builder backboneLrMultiplier(double v) { backboneLrMultiplier = v; return this; }
        /** @param v Gram anchoring weight on the student's patch tokens, 0 = off @return this builder */
        public Builder gramLossWeight(double v) { gramLossWeight = v; return this; }
        /** @param v feature distillation weight, 0 = off @return this builder */
        public Builder distillLossWeight(double v) { distillLossWeight = v; return this; }
        /** @param v the distillation teacher's family @return this builder */
        public Builder distillFamily(Family v) { distillFamily = v; return this; }
        /** @param v the distillation teacher's image size @return this builder */
        public Builder distillImgSize(int v) { distillImgSize = v; return this; }
        /** @param v the distillation teacher's patch size @return this builder */
        public Builder distillPatchSize(int v) { distillPatchSize = v; return this; }
        /** @param v the distillation teacher's width @return this builder */
        public Builder distillEmbedDim(int v) { distillEmbedDim = v; return this; }
        /** @param v the distillation teacher's depth @return this builder */
        public Builder distillDepth(int v) { distillDepth = v; return this; }
        /** @param v the distillation teacher's heads @return this builder */
        public Builder distillNumHeads(int v) { distillNumHeads = v; return this; }
        /** @param v the distillation teacher's MLP ratio @return this builder */
        public Builder distillMlpRatio(double v) { distillMlpRatio = v; return this; }
        /** @param v whether the distillation teacher has qkv biases @return this builder */
        public Builder distillQkvBias(boolean v) { distillQkvBias = v; return this; }
        /** @param v the distillation teacher's registers @return this builder */
        public Builder distillNumRegisterTokens(int v) { distillNumRegisterTokens = v; return this; }
        /** @param v the distillation teacher's LayerScale init @return this builder */
        public Builder distillLayerScaleInit(double v) { distillLayerScaleInit = v; return this; }
        /** @param v whether the distillation teacher's MLP is a SwiGLU @return this builder */
        public Builder distillSwiglu(boolean v) { distillSwiglu = v; return this; }

        /**
         * Feature distillation from a frozen teacher of {@code teacher}'s backbone (its backbone fields; heads unused).
         *
         * @param teacher the teacher's architecture
         * @param weight the loss weight, > 0
         * @return this builder
         */
        public Builder distillFrom(IbotConfig teacher, double weight) {
            return distillLossWeight(weight).distillFamily(teacher.family()).distillImgSize(teacher.imgSize()).distillPatchSize(teacher.patchSize())
                    .distillEmbedDim(teacher.embedDim()).distillDepth(teacher.depth()).distillNumHeads(teacher.numHeads())
                    .distillMlpRatio(teacher.mlpRatio()).distillQkvBias(teacher.qkvBias()).distillNumRegisterTokens(teacher.numRegisterTokens())
                    .distillLayerScaleInit(teacher.layerScaleInit()).distillSwiglu(teacher.swiglu());
        }
        /** @param v seed @return this builder */
        public Builder seed(long v) { seed = v; return this; }
        /** @param v LibTorch threads, 0 keeps the current @return this builder */
        public Builder numThreads(int v) { numThreads = v; return this; }
        /** @param v device @return this builder */
        public Builder device(Device v) { device = v; return this; }
        /** @param v bf16 autocast (CUDA, or a CPU with native bf16) @return this builder */
        public Builder bf16Autocast(boolean v) { bf16Autocast = v; return this; }
        /** @param v allow bf16 autocast on a CPU that would emulate it @return this builder */
        public Builder forceBf16(boolean v) { forceBf16 = v; return this; }

        /**
         * Sets the component {@code name} (its Java name, e.g. {@code "koleoLossWeight"}) to {@code value},
         * converted from any number to the component's number type: for code that maps other option
         * objects onto a config by name.
         *
         * @throws IllegalArgumentException when no component has that name or the value does not fit
         */
        public Builder set(String name, Object value) {
            RecordComponent rc = Arrays.stream(COMPONENTS).filter(c -> c.getName().equals(name)).findFirst()
                    .orElseThrow(() -> new IllegalArgumentException("IbotConfig has no component '" + name + "'"));
            Class<?> type = rc.getType();
            Object converted = value instanceof Number n && type == int.class ? (Object) Math.toIntExact(n.longValue())
                    : value instanceof Number n && type == long.class ? (Object) n.longValue()
                    : value instanceof Number n && type == double.class ? (Object) n.doubleValue() : value;
            try {
                Builder.class.getDeclaredField(name).set(this, converted);
            } catch (ReflectiveOperationException | IllegalArgumentException e) {
                throw new IllegalArgumentException("IbotConfig." + name + " (" + type.getSimpleName() + ") cannot take " + value);
            }
            return this;
        }

        /**
         * The configuration, checked by the native library's rules (which loads it).
         *
         * @return a validated configuration
         * @throws InvalidConfigException listing every problem
         */
        public IbotConfig build() {
            Object[] values = new Object[COMPONENTS.length];
            try {
                for (int i = 0; i < values.length; i++) values[i] = Builder.class.getDeclaredField(COMPONENTS[i].getName()).get(this);
                return ConfigStruct.check(CANONICAL.newInstance(values));
            } catch (InvocationTargetException e) {
                if (e.getCause() instanceof RuntimeException invalid) throw invalid;
                throw new IllegalStateException(e.getCause());
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException("IbotConfig.Builder lacks a field per component", e);
            }
        }
    }
}
