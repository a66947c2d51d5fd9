package org.ibot4j.trainer.export;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.ibot4j.api.IbotConfig;
import org.ibot4j.api.io.NamedTensor;

/**
 * The iBOT/DINO Vision Transformer (native/src/vit.cpp) as ONNX operators, with the same arithmetic:
 * patch embedding as a strided convolution, CLS token, learned positions at the training size, pre-norm
 * blocks with LayerNorm (eps 1e-6), multi-head attention softmax(q k^T / sqrt(head_dim)) v, an MLP with
 * exact (erf) GELU, the final LayerNorm, and the CLS token as output. Linear weights are stored transposed
 * for MatMul.
 */
final class VitGraph implements BackboneGraph {
    private static final float SQRT1_2 = (float) (1 / Math.sqrt(2));

    @Override
    public String name() {
        return "ViT (iBOT)";
    }

    @Override
    public String refusal(IbotConfig c, Map<String, NamedTensor> tensors) {
        Set<String> expected = new LinkedHashSet<>(expectedNames(c));
        List<String> unknown = new ArrayList<>(tensors.keySet().stream().filter(n -> !expected.contains(n)).sorted().toList());
        List<String> missing = expected.stream().filter(n -> !tensors.containsKey(n)).toList();
        if (!unknown.isEmpty()) {
            return "it has tensors this exporter cannot express (" + String.join(", ", unknown.subList(0, Math.min(5, unknown.size())))
                    + (unknown.size() > 5 ? ", ... " + unknown.size() + " in all" : "") + ")";
        }
        if (!missing.isEmpty()) return "tensors it needs are missing (" + String.join(", ", missing.subList(0, Math.min(5, missing.size()))) + ")";
        if (c.embedDim() % c.numHeads() != 0) return "embed_dim " + c.embedDim() + " is not divisible by num_heads " + c.numHeads();
        if (c.imgSize() % c.patchSize() != 0) return "img_size " + c.imgSize() + " is not a multiple of patch_size " + c.patchSize();
        long grid = c.imgSize() / c.patchSize(), dim = c.embedDim();
        long hidden = (long) (c.embedDim() * c.mlpRatio());
        String shapes = shape(tensors, "pos_embed", 1, grid * grid + 1, dim) + shape(tensors, "cls_token", 1, 1, dim)
                + shape(tensors, "patch_embed.proj.weight", dim, c.inChans(), c.patchSize(), c.patchSize());
        for (int i = 0; i < c.depth(); i++) {
            shapes += shape(tensors, "blocks." + i + ".attn.qkv.weight", 3 * dim, dim) + shape(tensors, "blocks." + i + ".mlp.fc1.weight", hidden, dim);
        }
        return shapes.isEmpty() ? null : "its tensors do not have the shapes of its configuration:" + shapes;
    }

    private static String shape(Map<String, NamedTensor> tensors, String name, long... dims) {
        long[] actual = tensors.get(name).shape();
        return Arrays.equals(actual, dims) ? "" : " " + name + " is " + Arrays.toString(actual) + ", expected " + Arrays.toString(dims) + ";";
    }

    static List<String> expectedNames(IbotConfig c) {
        List<String> names = new ArrayList<>(List.of("cls_token", "pos_embed", "patch_embed.proj.weight", "patch_embed.proj.bias"));
        for (int i = 0; i < c.depth(); i++) {
            String b = "blocks." + i + ".";
            names.addAll(List.of(b + "norm1.weight", b + "norm1.bias", b + "attn.qkv.weight", b + "attn.proj.weight", b + "attn.proj.bias",
                    b + "norm2.weight", b + "norm2.bias", b + "mlp.fc1.weight", b + "mlp.fc1.bias", b + "mlp.fc2.weight", b + "mlp.fc2.bias"));
            if (c.qkvBias()) names.add(b + "attn.qkv.bias");
        }
        names.addAll(List.of("norm.weight", "norm.bias"));
        return names;
    }

    @Override
    public String build(OnnxGraph g, String images, IbotConfig c, Map<String, NamedTensor> t) {
        long dim = c.embedDim(), heads = c.numHeads(), p = c.patchSize();
        String x = g.op("Conv", new String[] {images, weight(g, t, "patch_embed.proj.weight"), weight(g, t, "patch_embed.proj.bias")},
                "kernel_shape", new long[] {p, p}, "strides", new long[] {p, p});
        // [batch, dim, h, w] -> [batch, h*w, dim], then the CLS token in front (expanded to the batch) and the positions added.
        x = g.op("Transpose", g.op2("Reshape", x, g.ints(0, dim, -1)), "perm", new long[] {0, 2, 1});
        String batch = g.op("Slice", new String[] {g.op("Shape", images), g.ints(0), g.ints(1)});
        String cls = g.op2("Expand", weight(g, t, "cls_token"), g.op("Concat", new String[] {batch, g.ints(1, dim)}, "axis", 0L));
        x = g.op2("Add", g.op("Concat", new String[] {cls, x}, "axis", 1L), weight(g, t, "pos_embed"));
        for (int i = 0; i < c.depth(); i++) x = block(g, x, "blocks." + i + ".", t, dim, heads, c.qkvBias());
        x = layerNorm(g, x, t, "norm.");
        return g.op("Gather", new String[] {x, g.intScalar(0)}, "axis", 1L);
    }

    private static String block(OnnxGraph g, String x, String b, Map<String, NamedTensor> t, long dim, long heads, boolean qkvBias) {
        String y = layerNorm(g, x, t, b + "norm1.");
        String qkv = linear(g, y, t, b + "attn.qkv.", qkvBias);
        // [batch, n, 3, heads, head_dim] -> [3, batch, heads, n, head_dim], as vit.cpp's split_heads.
        qkv = g.op("Transpose", g.op2("Reshape", qkv, g.ints(0, 0, 3, heads, dim / heads)), "perm", new long[] {2, 0, 3, 1, 4});
        String q = g.op("Gather", new String[] {qkv, g.intScalar(0)}, "axis", 0L), k = g.op("Gather", new String[] {qkv, g.intScalar(1)}, "axis", 0L),
                v = g.op("Gather", new String[] {qkv, g.intScalar(2)}, "axis", 0L);
        String scores = g.op2("Mul", g.op2("MatMul", q, g.op("Transpose", k, "perm", new long[] {0, 1, 3, 2})),
                g.scalar((float) (1 / Math.sqrt(dim / heads))));
        String a = g.op2("MatMul", g.op("Softmax", scores, "axis", -1L), v);
        a = g.op2("Reshape", g.op("Transpose", a, "perm", new long[] {0, 2, 1, 3}), g.ints(0, 0, dim));
        x = g.op2("Add", x, linear(g, a, t, b + "attn.proj.", true));
        String h = linear(g, layerNorm(g, x, t, b + "norm2."), t, b + "mlp.fc1.", true);
        // Exact GELU, as torch::gelu: x * 0.5 * (1 + erf(x / sqrt(2))).
        h = g.op2("Mul", g.op2("Mul", h, g.op2("Add", g.op("Erf", g.op2("Mul", h, g.scalar(SQRT1_2))), g.scalar(1f))), g.scalar(0.5f));
        return g.op2("Add", x, linear(g, h, t, b + "mlp.fc2.", true));
    }

    private static String layerNorm(OnnxGraph g, String x, Map<String, NamedTensor> t, String prefix) {
        return g.op("LayerNormalization", new String[] {x, weight(g, t, prefix + "weight"), weight(g, t, prefix + "bias")}, "axis", -1L,
                "epsilon", 1e-6f);
    }

    /** x W^T + b with W [out, in] stored as its transpose [in, out]. */
    private static String linear(OnnxGraph g, String x, Map<String, NamedTensor> t, String prefix, boolean bias) {
        NamedTensor w = t.get(prefix + "weight");
        int out = (int) w.shape()[0], in = (int) w.shape()[1];
        float[] transposed = new float[out * in];
        for (int o = 0; o < out; o++) {
            for (int i = 0; i < in; i++) transposed[i * out + o] = w.data()[o * in + i];
        }
        String y = g.op2("MatMul", x, g.weight(prefix + "weight_t", new long[] {in, out}, transposed));
        return bias ? g.op2("Add", y, weight(g, t, prefix + "bias")) : y;
    }

    private static String weight(OnnxGraph g, Map<String, NamedTensor> t, String name) {
        NamedTensor w = t.get(name);
        return g.weight(name, w.shape(), w.data());
    }
}
