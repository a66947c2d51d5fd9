package org.ibot4j.api;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * The named Vision Transformer sizes of the official code ({@code --arch}).
 *
 * @param name the official name, e.g. vit_small
 * @param embedDim token width
 * @param depth number of blocks
 * @param numHeads attention heads
 */
public record Arch(String name, int embedDim, int depth, int numHeads) {
    /** ViT-Tiny: 192 wide, 12 blocks, 3 heads. */
    public static final Arch VIT_TINY = new Arch("vit_tiny", 192, 12, 3);
    /** ViT-Small: 384 wide, 12 blocks, 6 heads. */
    public static final Arch VIT_SMALL = new Arch("vit_small", 384, 12, 6);
    /** ViT-Base: 768 wide, 12 blocks, 12 heads. */
    public static final Arch VIT_BASE = new Arch("vit_base", 768, 12, 12);
    /** ViT-Large: 1024 wide, 24 blocks, 16 heads. */
    public static final Arch VIT_LARGE = new Arch("vit_large", 1024, 24, 16);

    /** Every named size, smallest first. */
    public static final List<Arch> ALL = List.of(VIT_TINY, VIT_SMALL, VIT_BASE, VIT_LARGE);

    /**
     * The size of that name.
     *
     * @param name as the official {@code --arch}: vit_tiny, vit_small, vit_base, vit_large
     * @return the matching size
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
     * @return vit_tiny, vit_small, vit_base, vit_large
     */
    public static String[] names() {
        return ALL.stream().map(Arch::name).toArray(String[]::new);
    }

    /**
     * The official name, also this size's JSON form.
     *
     * @return e.g. vit_small
     */
    @JsonValue
    @Override
    public String name() {
        return name;
    }

    /** The official name. */
    @Override
    public String toString() {
        return name;
    }
}
