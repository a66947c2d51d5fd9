package org.ibot4j.api;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import com.fasterxml.jackson.databind.annotation.JsonPOJOBuilder;
import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.RecordComponent;
import java.util.Arrays;

/**
 * Fluent construction of an {@link IbotConfig}, one setter per component (a test checks that none
 * is missing). Defaults are the official code defaults for ViT-S/16 at 224 px.
 */
@JsonPOJOBuilder(withPrefix = "")
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
@JsonIgnoreProperties({"arch"})
public final class IbotConfigBuilder {
    private static final RecordComponent[] COMPONENTS = IbotConfig.class.getRecordComponents();
    private static final Constructor<IbotConfig> CANONICAL = canonical();

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

    IbotConfigBuilder() {}

    /** The builder's fields carry the components' names: copying and building go through them by name. */
    IbotConfigBuilder(IbotConfig c) {
        try {
            for (RecordComponent rc : COMPONENTS) IbotConfigBuilder.class.getDeclaredField(rc.getName()).set(this, rc.getAccessor().invoke(c));
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("IbotConfigBuilder lacks a field per component", e);
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
    public IbotConfigBuilder arch(String name) {
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
    public IbotConfigBuilder imgSize(int v) { imgSize = v; return this; }
    /** @param v patch side in pixels @return this builder */
    public IbotConfigBuilder patchSize(int v) { patchSize = v; return this; }
    /** @param v input channels @return this builder */
    public IbotConfigBuilder inChans(int v) { inChans = v; return this; }
    /** @param v token width @return this builder */
    public IbotConfigBuilder embedDim(int v) { embedDim = v; return this; }
    /** @param v number of blocks @return this builder */
    public IbotConfigBuilder depth(int v) { depth = v; return this; }
    /** @param v attention heads @return this builder */
    public IbotConfigBuilder numHeads(int v) { numHeads = v; return this; }
    /** @param v MLP ratio @return this builder */
    public IbotConfigBuilder mlpRatio(double v) { mlpRatio = v; return this; }
    /** @param v qkv bias @return this builder */
    public IbotConfigBuilder qkvBias(boolean v) { qkvBias = v; return this; }
    /** @param v backbone family @return this builder */
    public IbotConfigBuilder family(Family v) { family = v; return this; }
    /** @param v registers / storage tokens @return this builder */
    public IbotConfigBuilder numRegisterTokens(int v) { numRegisterTokens = v; return this; }
    /** @param v LayerScale's initial gamma, 0 = none @return this builder */
    public IbotConfigBuilder layerScaleInit(double v) { layerScaleInit = v; return this; }
    /** @param v SwiGLU MLP @return this builder */
    public IbotConfigBuilder swiglu(boolean v) { swiglu = v; return this; }
    /** @param v student drop-path rate @return this builder */
    public IbotConfigBuilder dropPathRate(double v) { dropPathRate = v; return this; }
    /** @param v [CLS] output size K @return this builder */
    public IbotConfigBuilder outDim(int v) { outDim = v; return this; }
    /** @param v patch output size K' @return this builder */
    public IbotConfigBuilder patchOutDim(int v) { patchOutDim = v; return this; }
    /** @param v head MLP width @return this builder */
    public IbotConfigBuilder hiddenDim(int v) { hiddenDim = v; return this; }
    /** @param v head bottleneck width @return this builder */
    public IbotConfigBuilder bottleneckDim(int v) { bottleneckDim = v; return this; }
    /** @param v student head shared by [CLS] and patches @return this builder */
    public IbotConfigBuilder sharedHead(boolean v) { sharedHead = v; return this; }
    /** @param v teacher head shared by [CLS] and patches @return this builder */
    public IbotConfigBuilder sharedHeadTeacher(boolean v) { sharedHeadTeacher = v; return this; }
    /** @param v weight-norm gain fixed at 1 @return this builder */
    public IbotConfigBuilder normLastLayer(boolean v) { normLastLayer = v; return this; }
    /** @param v student temperature @return this builder */
    public IbotConfigBuilder studentTemp(double v) { studentTemp = v; return this; }
    /** @param v [CLS] centre momentum @return this builder */
    public IbotConfigBuilder centerMomentum(double v) { centerMomentum = v; return this; }
    /** @param v patch centre momentum @return this builder */
    public IbotConfigBuilder centerMomentum2(double v) { centerMomentum2 = v; return this; }
    /** @param v [CLS] loss weight @return this builder */
    public IbotConfigBuilder lambda1(double v) { lambda1 = v; return this; }
    /** @param v patch loss weight @return this builder */
    public IbotConfigBuilder lambda2(double v) { lambda2 = v; return this; }
    /** @param v AdamW beta1 @return this builder */
    public IbotConfigBuilder beta1(double v) { beta1 = v; return this; }
    /** @param v AdamW beta2 @return this builder */
    public IbotConfigBuilder beta2(double v) { beta2 = v; return this; }
    /** @param b1 AdamW beta1 @param b2 AdamW beta2 @return this builder */
    public IbotConfigBuilder betas(double b1, double b2) { beta1 = b1; beta2 = b2; return this; }
    /** @param v AdamW epsilon @return this builder */
    public IbotConfigBuilder eps(double v) { eps = v; return this; }
    /** @param v teacher targets: centering (official) or sinkhorn_knopp (DINOv2) @return this builder */
    public IbotConfigBuilder centering(Centering v) { centering = v; return this; }
    /** @param v KoLeo weight on the student's global [CLS] tokens, 0 = off @return this builder */
    public IbotConfigBuilder koleoLossWeight(double v) { koleoLossWeight = v; return this; }
    /** @param v layer-wise lr decay in (0, 1], 1 = off @return this builder */
    public IbotConfigBuilder layerDecay(double v) { layerDecay = v; return this; }
    /** @param v the backbone's lr relative to the heads', 1 = off @return this builder */
    public IbotConfigBuilder backboneLrMultiplier(double v) { backboneLrMultiplier = v; return this; }
    /** @param v Gram anchoring weight on the student's patch tokens, 0 = off @return this builder */
    public IbotConfigBuilder gramLossWeight(double v) { gramLossWeight = v; return this; }
    /** @param v feature distillation weight, 0 = off @return this builder */
    public IbotConfigBuilder distillLossWeight(double v) { distillLossWeight = v; return this; }
    /** @param v the distillation teacher's family @return this builder */
    public IbotConfigBuilder distillFamily(Family v) { distillFamily = v; return this; }
    /** @param v the distillation teacher's image size @return this builder */
    public IbotConfigBuilder distillImgSize(int v) { distillImgSize = v; return this; }
    /** @param v the distillation teacher's patch size @return this builder */
    public IbotConfigBuilder distillPatchSize(int v) { distillPatchSize = v; return this; }
    /** @param v the distillation teacher's width @return this builder */
    public IbotConfigBuilder distillEmbedDim(int v) { distillEmbedDim = v; return this; }
    /** @param v the distillation teacher's depth @return this builder */
    public IbotConfigBuilder distillDepth(int v) { distillDepth = v; return this; }
    /** @param v the distillation teacher's heads @return this builder */
    public IbotConfigBuilder distillNumHeads(int v) { distillNumHeads = v; return this; }
    /** @param v the distillation teacher's MLP ratio @return this builder */
    public IbotConfigBuilder distillMlpRatio(double v) { distillMlpRatio = v; return this; }
    /** @param v whether the distillation teacher has qkv biases @return this builder */
    public IbotConfigBuilder distillQkvBias(boolean v) { distillQkvBias = v; return this; }
    /** @param v the distillation teacher's registers @return this builder */
    public IbotConfigBuilder distillNumRegisterTokens(int v) { distillNumRegisterTokens = v; return this; }
    /** @param v the distillation teacher's LayerScale init @return this builder */
    public IbotConfigBuilder distillLayerScaleInit(double v) { distillLayerScaleInit = v; return this; }
    /** @param v whether the distillation teacher's MLP is a SwiGLU @return this builder */
    public IbotConfigBuilder distillSwiglu(boolean v) { distillSwiglu = v; return this; }

    /**
     * Feature distillation from a frozen teacher of {@code teacher}'s backbone (its backbone fields; heads unused).
     *
     * @param teacher the teacher's architecture
     * @param weight the loss weight, > 0
     * @return this builder
     */
    public IbotConfigBuilder distillFrom(IbotConfig teacher, double weight) {
        return distillLossWeight(weight).distillFamily(teacher.family()).distillImgSize(teacher.imgSize()).distillPatchSize(teacher.patchSize())
                .distillEmbedDim(teacher.embedDim()).distillDepth(teacher.depth()).distillNumHeads(teacher.numHeads())
                .distillMlpRatio(teacher.mlpRatio()).distillQkvBias(teacher.qkvBias()).distillNumRegisterTokens(teacher.numRegisterTokens())
                .distillLayerScaleInit(teacher.layerScaleInit()).distillSwiglu(teacher.swiglu());
    }
    /** @param v seed @return this builder */
    public IbotConfigBuilder seed(long v) { seed = v; return this; }
    /** @param v LibTorch threads, 0 keeps the current @return this builder */
    public IbotConfigBuilder numThreads(int v) { numThreads = v; return this; }
    /** @param v device @return this builder */
    public IbotConfigBuilder device(Device v) { device = v; return this; }
    /** @param v bf16 autocast (CUDA, or a CPU with native bf16) @return this builder */
    public IbotConfigBuilder bf16Autocast(boolean v) { bf16Autocast = v; return this; }
    /** @param v allow bf16 autocast on a CPU that would emulate it @return this builder */
    public IbotConfigBuilder forceBf16(boolean v) { forceBf16 = v; return this; }

    /**
     * Sets the component {@code name} (its Java name, e.g. {@code "koleoLossWeight"}) to {@code value},
     * converted from any number to the component's number type: for code that maps other option
     * objects onto a config by name.
     *
     * @throws IllegalArgumentException when no component has that name or the value does not fit
     */
    public IbotConfigBuilder set(String name, Object value) {
        RecordComponent rc = Arrays.stream(COMPONENTS).filter(c -> c.getName().equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("IbotConfig has no component '" + name + "'"));
        Class<?> type = rc.getType();
        Object converted = value instanceof Number n && type == int.class ? (Object) Math.toIntExact(n.longValue())
                : value instanceof Number n && type == long.class ? (Object) n.longValue()
                : value instanceof Number n && type == double.class ? (Object) n.doubleValue() : value;
        try {
            IbotConfigBuilder.class.getDeclaredField(name).set(this, converted);
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
            for (int i = 0; i < values.length; i++) values[i] = IbotConfigBuilder.class.getDeclaredField(COMPONENTS[i].getName()).get(this);
            return ConfigStruct.check(CANONICAL.newInstance(values));
        } catch (InvocationTargetException e) {
            if (e.getCause() instanceof RuntimeException invalid) throw invalid;
            throw new IllegalStateException(e.getCause());
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("IbotConfigBuilder lacks a field per component", e);
        }
    }

    private static Constructor<IbotConfig> canonical() {
        try {
            return IbotConfig.class.getDeclaredConstructor(Arrays.stream(COMPONENTS).map(RecordComponent::getType).toArray(Class<?>[]::new));
        } catch (NoSuchMethodException e) {
            throw new IllegalStateException(e);
        }
    }
}
