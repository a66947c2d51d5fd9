package org.ibot4j.trainer.cli;

import org.ibot4j.api.Encoder;
import picocli.CommandLine.Option;

/** What a .pth / .safetensors backbone (timm's or Meta's names) cannot say about itself, for the commands that read one. */
final class ForeignWeightsOptions {
    @Option(names = "--arch", paramLabel = "NAME", description = "architecture of a .pth / .safetensors backbone by timm name, "
            + "e.g. vit_small_patch16_dinov3 (default: inferred from its names and shapes); ignored for ibot4j checkpoints")
    String arch;

    @Option(names = "--num_heads", description = "attention heads of a .pth / .safetensors without ibot4j metadata whose sizes are not "
            + "a named architecture's (0: from the metadata, the name, Meta's DINOv3 periods, else embed_dim / 64)")
    int numHeads = 0;

    Encoder.Options apply(Encoder.Options options) {
        if (numHeads < 0) throw new IllegalArgumentException("--num_heads must be >= 0, got " + numHeads);
        return options.arch(arch).numHeads(numHeads);
    }
}
