package org.ibot4j.api;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * The named backbones: the official iBOT sizes ({@code --arch vit_small}) and the DINOv2 and DINOv3 models
 * under timm's names ({@code vit_small_patch14_dinov2}, {@code vit_small_patch16_dinov3}, ...). Any width or
 * depth of a family is reachable from a name through the size options (embed_dim, depth, num_heads).
 *
 * @param name the official or timm name, e.g. vit_small or vit_base_patch16_dinov3
 * @param embedDim token width
 * @param depth number of blocks
 * @param numHeads attention heads
 * @param family backbone layout
 * @param patchSize patch side (DINOv2 and DINOv3 names; the iBOT sizes leave the configured one)
 * @param imgSize the size the model was published at (DINOv2 and DINOv3 names)
 * @param mlpRatio MLP width over embedDim (timm's value; DINOv2 giant's is its packed SwiGLU width)
 * @param qkvBias qkv bias (DINOv3: only the {@code _qkvb} variants)
 * @param numRegisterTokens registers or storage tokens
 * @param layerScaleInit LayerScale's initial gamma, 0 = none
 * @param swiglu SwiGLU MLP
 */
public record Arch(String name, int embedDim, int depth, int numHeads, Family family, int patchSize, int imgSize,
                   double mlpRatio, boolean qkvBias, int numRegisterTokens, double layerScaleInit, boolean swiglu) {
    /** ViT-Tiny: 192 wide, 12 blocks, 3 heads. */
    public static final Arch VIT_TINY = ibot("vit_tiny", 192, 12, 3);
    /** ViT-Small: 384 wide, 12 blocks, 6 heads. */
    public static final Arch VIT_SMALL = ibot("vit_small", 384, 12, 6);
    /** ViT-Base: 768 wide, 12 blocks, 12 heads. */
    public static final Arch VIT_BASE = ibot("vit_base", 768, 12, 12);
    /** ViT-Large: 1024 wide, 24 blocks, 16 heads. */
    public static final Arch VIT_LARGE = ibot("vit_large", 1024, 24, 16);

    /** timm's DINOv2 ViT-S/14 (518 px, LayerScale 1e-5). */
    public static final Arch VIT_SMALL_PATCH14_DINOV2 = dinov2("vit_small_patch14_dinov2", 384, 12, 6, 0);

    /** Every named backbone: the iBOT sizes, smallest first, then timm's DINOv2 and DINOv3 models. */
    public static final List<Arch> ALL = List.of(VIT_TINY, VIT_SMALL, VIT_BASE, VIT_LARGE,
            VIT_SMALL_PATCH14_DINOV2,
            dinov2("vit_base_patch14_dinov2", 768, 12, 12, 0),
            dinov2("vit_large_patch14_dinov2", 1024, 24, 16, 0),
            giant("vit_giant_patch14_dinov2", 0),
            dinov2("vit_small_patch14_reg4_dinov2", 384, 12, 6, 4),
            dinov2("vit_base_patch14_reg4_dinov2", 768, 12, 12, 4),
            dinov2("vit_large_patch14_reg4_dinov2", 1024, 24, 16, 4),
            giant("vit_giant_patch14_reg4_dinov2", 4),
            dinov3("vit_small_patch16_dinov3", 384, 12, 6, false, false),
            dinov3("vit_small_patch16_dinov3_qkvb", 384, 12, 6, false, true),
            dinov3("vit_small_plus_patch16_dinov3", 384, 12, 6, true, false),
            dinov3("vit_small_plus_patch16_dinov3_qkvb", 384, 12, 6, true, true),
            dinov3("vit_base_patch16_dinov3", 768, 12, 12, false, false),
            dinov3("vit_base_patch16_dinov3_qkvb", 768, 12, 12, false, true),
            dinov3("vit_large_patch16_dinov3", 1024, 24, 16, false, false),
            dinov3("vit_large_patch16_dinov3_qkvb", 1024, 24, 16, false, true),
            dinov3("vit_huge_plus_patch16_dinov3", 1280, 32, 20, true, false),
            dinov3("vit_huge_plus_patch16_dinov3_qkvb", 1280, 32, 20, true, true));

    private static Arch ibot(String name, int dim, int depth, int heads) {
        return new Arch(name, dim, depth, heads, Family.IBOT, 16, 224, 4.0, true, 0, 0, false);
    }

    private static Arch dinov2(String name, int dim, int depth, int heads, int registers) {
        return new Arch(name, dim, depth, heads, Family.DINOV2, 14, 518, 4.0, true, registers, 1e-5, false);
    }

    /** timm's giant: packed SwiGLU whose fc1 is int(1536 * 2.66667 * 2) = 8192 wide (4096 gate, 4096 value). */
    private static Arch giant(String name, int registers) {
        return new Arch(name, 1536, 40, 24, Family.DINOV2, 14, 518, 2.66667 * 2, true, registers, 1e-5, true);
    }

    private static Arch dinov3(String name, int dim, int depth, int heads, boolean swiglu, boolean qkvBias) {
        return new Arch(name, dim, depth, heads, Family.DINOV3, 16, 256, 4.0, qkvBias, 4, 1e-5, swiglu);
    }

    /**
     * The backbone of that name.
     *
     * @param name vit_tiny, vit_small, vit_base, vit_large, or a timm DINOv2 / DINOv3 name (see {@link #names()})
     * @return the matching backbone
     * @throws InvalidConfigException for an unknown name, listing the known ones
     */
    @JsonCreator
    public static Arch of(String name) {
        String wanted = name == null ? "" : name.toLowerCase(Locale.ROOT).replace('-', '_');
        return ALL.stream().filter(a -> a.name.equals(wanted)).findFirst().orElseThrow(() -> new InvalidConfigException("ibot4j config",
                List.of("unknown arch '" + name + "' (known: " + String.join(", ", Arrays.asList(names())) + ")")));
    }

    /**
     * The names, for help texts and completion.
     *
     * @return the iBOT sizes then timm's DINOv2 and DINOv3 names
     */
    public static String[] names() {
        return ALL.stream().map(Arch::name).toArray(String[]::new);
    }

    /**
     * The name, also this backbone's JSON form.
     *
     * @return e.g. vit_small
     */
    @JsonValue
    @Override
    public String name() {
        return name;
    }

    /** The name. */
    @Override
    public String toString() {
        return name;
    }
}
