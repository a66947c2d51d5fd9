package org.ibot4j.api.io;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * DINOv2 and DINOv3 backbones as Hugging Face transformers saves them ({@code model.safetensors} of
 * facebook/dinov2-*, facebook/dinov2-with-registers-*, facebook/dinov3-vit*), brought to Meta's hub names, from
 * which {@link FoundationLayouts} goes on to timm's. Both generations of names are read: transformers 4's, in the
 * files on the hub ({@code attention.attention.query}, {@code attention.output.dense}, {@code mlp.weights_in},
 * DINOv3's {@code layer.N}), and transformers 5's ({@code attention.q_proj}, ..., {@code model.layer.N}), as
 * transformers 5's own {@code conversion_mapping} relates them. Separate q, k and v projections become Meta's one
 * {@code attn.qkv} (rows q, k, v; a missing key bias is Meta's masked zero third).
 */
final class TransformersNames {
    private static final Pattern BLOCK = Pattern.compile("^(?:encoder\\.|model\\.)?layer\\.(\\d+)\\.(.+)$");

    private TransformersNames() {}

    /** Whether a file's names are transformers' (its embeddings module). */
    static boolean applies(Map<String, PthReader.FloatTensor> file) {
        return file.containsKey("embeddings.cls_token");
    }

    /** Whether a transformers file is a DINOv3 one (no absolute positions; DINOv2 has them). */
    static boolean isDinov3(Map<String, PthReader.FloatTensor> file) {
        return !file.containsKey("embeddings.position_embeddings");
    }

    /**
     * Meta's names for a transformers file's tensors.
     *
     * @param file a file {@link #applies} to
     * @return the same tensors (q, k, v joined) under Meta's names
     */
    static Map<String, PthReader.FloatTensor> toMetaNames(Map<String, PthReader.FloatTensor> file) {
        boolean dinov3 = isDinov3(file);
        Map<String, PthReader.FloatTensor> out = new LinkedHashMap<>();
        Map<String, Map<String, PthReader.FloatTensor>> blocks = new LinkedHashMap<>();
        for (Map.Entry<String, PthReader.FloatTensor> e : file.entrySet()) {
            String k = e.getKey();
            PthReader.FloatTensor v = e.getValue();
            Matcher m = BLOCK.matcher(k);
            if (m.matches()) {
                blocks.computeIfAbsent("blocks." + m.group(1) + ".", b -> new LinkedHashMap<>()).put(m.group(2), v);
            } else if (k.equals("embeddings.cls_token")) {
                out.put("cls_token", v);
            } else if (k.equals("embeddings.mask_token")) {
                long dim = v.shape()[v.shape().length - 1];
                out.put("mask_token", new PthReader.FloatTensor(new long[] {1, dim}, v.data()));
            } else if (k.equals("embeddings.register_tokens")) {
                if (v.shape()[1] > 0) out.put(dinov3 ? "storage_tokens" : "register_tokens", v);
            } else if (k.equals("embeddings.position_embeddings")) {
                out.put("pos_embed", v);
            } else if (k.startsWith("embeddings.patch_embeddings.")) {
                out.put("patch_embed.proj." + k.substring(k.lastIndexOf('.') + 1), v);
            } else if (k.startsWith("layernorm.")) {
                out.put("norm." + k.substring("layernorm.".length()), v);
            } else {
                out.put(k, v);  // norm.* (DINOv3), or a name nothing reads: reported as left over
            }
        }
        blocks.forEach((prefix, parts) -> block(prefix, parts, dinov3, out));
        return out;
    }

    private static void block(String prefix, Map<String, PthReader.FloatTensor> parts, boolean dinov3, Map<String, PthReader.FloatTensor> out) {
        Map<String, PthReader.FloatTensor> rest = new LinkedHashMap<>();
        parts.forEach((k, v) -> rest.put(k.replace("attention.attention.query.", "attention.q_proj.").replace("attention.attention.key.", "attention.k_proj.")
                .replace("attention.attention.value.", "attention.v_proj.").replace("attention.output.dense.", "attention.o_proj."), v));
        PthReader.FloatTensor q = rest.remove("attention.q_proj.weight"), k = rest.remove("attention.k_proj.weight"),
                v = rest.remove("attention.v_proj.weight");
        if (q != null && k != null && v != null) out.put(prefix + "attn.qkv.weight", rows(List.of(q, k, v)));
        PthReader.FloatTensor qb = rest.remove("attention.q_proj.bias"), kb = rest.remove("attention.k_proj.bias"),
                vb = rest.remove("attention.v_proj.bias");
        if (qb != null || kb != null || vb != null) {
            long dim = q != null ? q.shape()[0] : 0;
            out.put(prefix + "attn.qkv.bias", rows(List.of(orZeros(qb, dim), orZeros(kb, dim), orZeros(vb, dim))));
        }
        PthReader.FloatTensor gate = rest.remove("mlp.gate_proj.weight"), gateBias = rest.remove("mlp.gate_proj.bias");
        for (Map.Entry<String, PthReader.FloatTensor> e : rest.entrySet()) {
            String name = e.getKey().replace("attention.o_proj.", "attn.proj.").replace("layer_scale1.lambda1", "ls1.gamma")
                    .replace("layer_scale2.lambda1", "ls2.gamma").replace("mlp.weights_in.", "mlp.w12.").replace("mlp.weights_out.", "mlp.w3.");
            if (gate == null) {
                name = name.replace("mlp.up_proj.", "mlp.fc1.").replace("mlp.down_proj.", "mlp.fc2.");
            } else if (dinov3) {
                name = name.replace("mlp.up_proj.", "mlp.w2.").replace("mlp.down_proj.", "mlp.w3.");
            } else if (name.startsWith("mlp.up_proj.")) {
                // DINOv2's packed SwiGLU: Meta's w12 is the gate's rows, then the value's.
                name = name.replace("mlp.up_proj.", "mlp.w12.");
                e.setValue(rows(List.of(name.endsWith("weight") ? gate : gateBias, e.getValue())));
            } else {
                name = name.replace("mlp.down_proj.", "mlp.w3.");
            }
            out.put(prefix + name, e.getValue());
        }
        if (gate != null && dinov3) {
            out.put(prefix + "mlp.w1.weight", gate);
            if (gateBias != null) out.put(prefix + "mlp.w1.bias", gateBias);
        }
    }

    /** Tensors stacked along their first dimension. */
    private static PthReader.FloatTensor rows(List<PthReader.FloatTensor> parts) {
        long first = 0;
        int total = 0;
        for (PthReader.FloatTensor p : parts) {
            first += p.shape()[0];
            total += p.data().length;
        }
        float[] data = new float[total];
        int at = 0;
        for (PthReader.FloatTensor p : parts) {
            System.arraycopy(p.data(), 0, data, at, p.data().length);
            at += p.data().length;
        }
        long[] shape = parts.get(0).shape().clone();
        shape[0] = first;
        return new PthReader.FloatTensor(shape, data);
    }

    private static PthReader.FloatTensor orZeros(PthReader.FloatTensor bias, long dim) {
        return bias != null ? bias : new PthReader.FloatTensor(new long[] {dim}, new float[(int) dim]);
    }
}
