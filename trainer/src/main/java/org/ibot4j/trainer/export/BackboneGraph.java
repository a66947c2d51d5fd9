package org.ibot4j.trainer.export;

import java.util.Map;
import org.ibot4j.api.IbotConfig;
import org.ibot4j.api.io.NamedTensor;

/**
 * One backbone family as an ONNX graph. A family says whether it can express a backbone (from its
 * configuration and the names and shapes of its tensors) before anything is built, so an architecture it
 * does not know is refused in words, never exported as something else. New families (DINOv2/v3 register
 * tokens, layer scale, SwiGLU, RoPE) are added to {@link OnnxExport#FAMILIES}.
 */
interface BackboneGraph {
    /** A short name for messages, e.g. "ViT (iBOT/DINO)". */
    String name();

    /**
     * Why this family cannot express the backbone, or null when it can.
     *
     * @param config the backbone's architecture
     * @param tensors its weights by timm name
     */
    String refusal(IbotConfig config, Map<String, NamedTensor> tensors);

    /**
     * Adds the forward pass from {@code images} to the CLS features and returns the features' value.
     *
     * @param g the graph
     * @param images the input value, normalised float32 {@code [batch, in_chans, img_size, img_size]}
     */
    String build(OnnxGraph g, String images, IbotConfig config, Map<String, NamedTensor> tensors);
}
