package org.ibot4j.benchmarks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import org.ibot4j.api.IbotConfig;
import org.junit.jupiter.api.Test;

/** The FLOP model against PyTorch's FlopCounterMode on the reference's official-style step (tools/reference/count_flops.py). */
class StepFlopsTest {
    @Test
    void officialStepMatchesPyTorchsFlopCounter() throws IOException {
        JsonNode golden;
        try (InputStream in = StepFlopsTest.class.getResourceAsStream("/flops.json")) {
            golden = new ObjectMapper().readTree(in);
        }
        for (String name : new String[] {"demo", "vit_s16_shape"}) {
            JsonNode spec = golden.get(name), c = spec.get("cfg");
            IbotConfig config = IbotConfig.builder().imgSize(c.get("img_size").asInt()).patchSize(c.get("patch_size").asInt())
                    .embedDim(c.get("embed_dim").asInt()).depth(c.get("depth").asInt()).numHeads(c.get("num_heads").asInt())
                    .outDim(c.get("out_dim").asInt()).patchOutDim(c.get("patch_out_dim").asInt()).hiddenDim(c.get("hidden_dim").asInt())
                    .bottleneckDim(c.get("bottleneck_dim").asInt()).sharedHead(true).build();
            StepFlops flops = new StepFlops(config, spec.get("batch").asInt(), 2, spec.get("n_local").asInt(),
                    spec.get("global_size").asInt(), spec.get("local_size").asInt());
            double expected = spec.get("official_step_flops").asDouble();
            // Exact up to what the counter sees beyond matmuls (nothing else is counted by it).
            assertThat(flops.official()).as(name).isCloseTo(expected, within(expected * 1e-9));
        }
    }

    @Test
    void ibot4jsStepSkipsExactlyTheUnreadHeadTokens() {
        IbotConfig config = IbotConfig.builder().imgSize(32).patchSize(4).embedDim(128).depth(4).numHeads(4).outDim(1024)
                .patchOutDim(1024).hiddenDim(512).bottleneckDim(128).sharedHead(true).build();
        StepFlops f = new StepFlops(config, 64, 2, 4, 32, 16);
        // Unread: every patch token of local crops (16 each; the official step runs their last layer forward
        // only) and the unmasked global patches (64 each).
        long masked = 1000;
        double lastLayer = 2.0 * 128 * 1024, mlp = f.headPerToken() - lastLayer;
        double skipped = 64 * 4 * 16 * (3 * mlp + lastLayer) + 3 * f.headPerToken() * (64 * 2 * 64 - masked);
        assertThat(f.official() - f.ibot4j(masked)).isCloseTo(skipped, within(1.0));
    }
}
