package org.ibot4j.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/** {@link IbotConfig} as JSON with the official snake_case names; absent keys keep the builder's defaults. */
public final class ConfigJson {
    private static final ObjectMapper JSON = new ObjectMapper();

    private ConfigJson() {}

    public static ObjectNode toJson(IbotConfig c) {
        ObjectNode o = JSON.createObjectNode();
        o.put("img_size", c.imgSize()).put("patch_size", c.patchSize()).put("in_chans", c.inChans());
        o.put("embed_dim", c.embedDim()).put("depth", c.depth()).put("num_heads", c.numHeads());
        o.put("mlp_ratio", c.mlpRatio()).put("qkv_bias", c.qkvBias()).put("drop_path_rate", c.dropPathRate());
        o.put("out_dim", c.outDim()).put("patch_out_dim", c.patchOutDim()).put("hidden_dim", c.hiddenDim());
        o.put("bottleneck_dim", c.bottleneckDim()).put("shared_head", c.sharedHead());
        o.put("shared_head_teacher", c.sharedHeadTeacher()).put("norm_last_layer", c.normLastLayer());
        o.put("student_temp", c.studentTemp()).put("center_momentum", c.centerMomentum());
        o.put("center_momentum2", c.centerMomentum2()).put("lambda1", c.lambda1()).put("lambda2", c.lambda2());
        o.put("beta1", c.beta1()).put("beta2", c.beta2()).put("eps", c.eps()).put("seed", c.seed());
        o.put("num_threads", c.numThreads()).put("device", c.device().name().toLowerCase(java.util.Locale.ROOT));
        o.put("bf16_autocast", c.bf16Autocast());
        return o;
    }

    public static IbotConfig fromJson(JsonNode o) {
        IbotConfig.Builder b = IbotConfig.builder();
        if (o.has("img_size")) b.imgSize(o.get("img_size").asInt());
        if (o.has("patch_size")) b.patchSize(o.get("patch_size").asInt());
        if (o.has("in_chans")) b.inChans(o.get("in_chans").asInt());
        if (o.has("embed_dim")) b.embedDim(o.get("embed_dim").asInt());
        if (o.has("depth")) b.depth(o.get("depth").asInt());
        if (o.has("num_heads")) b.numHeads(o.get("num_heads").asInt());
        if (o.has("mlp_ratio")) b.mlpRatio(o.get("mlp_ratio").asDouble());
        if (o.has("qkv_bias")) b.qkvBias(o.get("qkv_bias").asBoolean());
        if (o.has("drop_path_rate")) b.dropPathRate(o.get("drop_path_rate").asDouble());
        if (o.has("out_dim")) b.outDim(o.get("out_dim").asInt());
        if (o.has("patch_out_dim")) b.patchOutDim(o.get("patch_out_dim").asInt());
        if (o.has("hidden_dim")) b.hiddenDim(o.get("hidden_dim").asInt());
        if (o.has("bottleneck_dim")) b.bottleneckDim(o.get("bottleneck_dim").asInt());
        if (o.has("shared_head")) b.sharedHead(o.get("shared_head").asBoolean());
        if (o.has("shared_head_teacher")) b.sharedHeadTeacher(o.get("shared_head_teacher").asBoolean());
        if (o.has("norm_last_layer")) b.normLastLayer(o.get("norm_last_layer").asBoolean());
        if (o.has("student_temp")) b.studentTemp(o.get("student_temp").asDouble());
        if (o.has("center_momentum")) b.centerMomentum(o.get("center_momentum").asDouble());
        if (o.has("center_momentum2")) b.centerMomentum2(o.get("center_momentum2").asDouble());
        if (o.has("lambda1")) b.lambda1(o.get("lambda1").asDouble());
        if (o.has("lambda2")) b.lambda2(o.get("lambda2").asDouble());
        if (o.has("beta1") || o.has("beta2")) b.betas(o.path("beta1").asDouble(0.9), o.path("beta2").asDouble(0.999));
        if (o.has("eps")) b.eps(o.get("eps").asDouble());
        if (o.has("seed")) b.seed(o.get("seed").asLong());
        if (o.has("num_threads")) b.numThreads(o.get("num_threads").asInt());
        if (o.has("device")) b.device(Device.valueOf(o.get("device").asText().toUpperCase(java.util.Locale.ROOT)));
        if (o.has("bf16_autocast")) b.bf16Autocast(o.get("bf16_autocast").asBoolean());
        return b.build();
    }
}
