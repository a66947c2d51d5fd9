package org.ibot4j.api.io;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.ibot4j.api.Arch;
import org.ibot4j.api.Family;
import org.ibot4j.api.IbotConfig;
import org.ibot4j.api.IbotConfigBuilder;

/**
 * DINOv2 and DINOv3 backbones in the layouts users hold, brought to timm's names (ibot4j's own for these
 * families; docs/interop.md lists the maps):
 * <ul>
 * <li>timm / Hugging Face files of timm models ({@code model.safetensors}, {@code .pth}): already timm's names;
 * <li>Hugging Face transformers' files (facebook/dinov2-*, facebook/dinov3-vit*): {@link TransformersNames} to Meta's
 * names, then as Meta's;
 * <li>Meta's hub checkpoints ({@code dinov2_vits14_pretrain.pth}, {@code dinov2_vits14_reg4_pretrain.pth},
 * {@code dinov3_vits16_pretrain_*.pth}): renamed as timm's own checkpoint filters do, DINOv3's RoPE periods
 * (stored in bf16) kept as {@code rope.periods}.
 * </ul>
 * and the architecture those names and shapes imply.
 */
public final class FoundationLayouts {
    private FoundationLayouts() {}

    /** Whether a backbone (timm names, no prefix) is a DINOv2 or DINOv3 one rather than the official iBOT ViT. */
    public static Optional<Family> family(Map<String, PthReader.FloatTensor> backbone) {
        if (backbone.containsKey("rope.periods") || backbone.containsKey("blocks.0.gamma_1") || backbone.containsKey("blocks.0.attn.q_bias")
                || (backbone.containsKey("reg_token") && !backbone.containsKey("pos_embed"))) {
            return Optional.of(Family.DINOV3);
        }
        if (backbone.containsKey("blocks.0.ls1.gamma") || backbone.containsKey("reg_token")) return Optional.of(Family.DINOV2);
        return Optional.empty();
    }

    /**
     * Meta's names (or transformers', through {@link TransformersNames}) to timm's, for a backbone-only file (no
     * prefix); other files come back as they are.
     * DINOv2: {@code register_tokens} -> {@code reg_token} with the [CLS] position folded into {@code cls_token}
     * (timm's layout of a model with registers gives positions to the patches only), {@code mlp.w12/w3} ->
     * {@code mlp.fc1/fc2}. DINOv3: {@code storage_tokens} -> {@code reg_token}, {@code rope_embed.periods} ->
     * {@code rope.periods}, {@code ls1/ls2.gamma} -> {@code gamma_1/2}, {@code mlp.w1/w2/w3} ->
     * {@code mlp.fc1_g/fc1_x/fc2}, {@code attn.qkv.bias} -> {@code attn.q_bias} and {@code attn.v_bias} (the key
     * third, masked to zero in Meta's model, is dropped with {@code attn.qkv.bias_mask}). Both:
     * {@code mask_token} -> {@code masked_embed}.
     */
    public static Map<String, PthReader.FloatTensor> toTimmNames(Map<String, PthReader.FloatTensor> file) {
        if (TransformersNames.applies(file)) return fromMeta(TransformersNames.toMetaNames(file), TransformersNames.isDinov3(file));
        boolean dinov3 = file.containsKey("storage_tokens") || file.containsKey("rope_embed.periods");
        boolean dinov2 = !dinov3 && file.containsKey("mask_token") && file.containsKey("pos_embed");
        if (!dinov2 && !dinov3) return file;
        return fromMeta(file, dinov3);
    }

    private static Map<String, PthReader.FloatTensor> fromMeta(Map<String, PthReader.FloatTensor> file, boolean dinov3) {
        boolean dinov2 = !dinov3;
        Map<String, PthReader.FloatTensor> out = new LinkedHashMap<>();
        for (Map.Entry<String, PthReader.FloatTensor> e : file.entrySet()) {
            String k = e.getKey();
            PthReader.FloatTensor v = e.getValue();
            if (k.equals("mask_token")) {
                out.put("masked_embed", v);
            } else if (dinov2) {
                if (k.equals("register_tokens")) k = "reg_token";
                out.put(k.replace(".mlp.w12.", ".mlp.fc1.").replace(".mlp.w3.", ".mlp.fc2."), v);
            } else if (k.endsWith(".attn.qkv.bias_mask")) {
                continue;
            } else if (k.endsWith(".attn.qkv.bias")) {
                int d = (int) (v.shape()[0] / 3);
                String block = k.substring(0, k.length() - "qkv.bias".length());
                out.put(block + "q_bias", new PthReader.FloatTensor(new long[] {d}, Arrays.copyOfRange(v.data(), 0, d)));
                out.put(block + "v_bias", new PthReader.FloatTensor(new long[] {d}, Arrays.copyOfRange(v.data(), 2 * d, 3 * d)));
            } else {
                k = k.equals("storage_tokens") ? "reg_token" : k.equals("rope_embed.periods") ? "rope.periods" : k;
                out.put(k.replace(".ls1.gamma", ".gamma_1").replace(".ls2.gamma", ".gamma_2").replace(".mlp.w1.", ".mlp.fc1_g.")
                        .replace(".mlp.w2.", ".mlp.fc1_x.").replace(".mlp.w3.", ".mlp.fc2."), v);
            }
        }
        if (dinov2 && out.containsKey("reg_token")) {
            // timm's _convert_dinov2: [CLS] keeps its position added, the patches keep theirs.
            PthReader.FloatTensor pos = out.get("pos_embed"), cls = out.get("cls_token");
            int dim = (int) pos.shape()[2], n = (int) pos.shape()[1];
            float[] folded = cls.data().clone();
            for (int i = 0; i < dim; i++) folded[i] += pos.data()[i];
            out.put("cls_token", new PthReader.FloatTensor(cls.shape(), folded));
            out.put("pos_embed", new PthReader.FloatTensor(new long[] {1, n - 1, dim}, Arrays.copyOfRange(pos.data(), dim, n * dim)));
        }
        return out;
    }

    /**
     * The architecture a DINOv2 / DINOv3 backbone's tensors imply: the {@link Arch} of timm whose layout and
     * sizes they have, or, for other widths and depths, the family's layout with {@code numHeads} heads (0:
     * {@code embed_dim / 64}, the head width of every published model; DINOv3 files of Meta tell it by their
     * periods).
     *
     * @param backbone timm-named tensors, no prefix
     * @param family   {@link #family} of them
     * @param numHeads heads, or 0
     * @return a builder with the backbone fields set
     */
    public static IbotConfigBuilder inferConfig(Map<String, PthReader.FloatTensor> backbone, Family family, int numHeads) {
        PthReader.FloatTensor cls = require(backbone, "cls_token"), conv = require(backbone, "patch_embed.proj.weight");
        int dim = (int) cls.shape()[2], patch = (int) conv.shape()[2];
        int depth = 0;
        while (backbone.containsKey("blocks." + depth + ".norm1.weight")) depth++;
        int registers = backbone.containsKey("reg_token") ? (int) backbone.get("reg_token").shape()[1] : 0;
        boolean swiglu;
        double mlpRatio;
        boolean qkvBias;
        int imgSize;
        if (family == Family.DINOV3) {
            swiglu = backbone.containsKey("blocks.0.mlp.fc1_g.weight");
            mlpRatio = require(backbone, swiglu ? "blocks.0.mlp.fc1_g.weight" : "blocks.0.mlp.fc1.weight").shape()[0] / (double) dim;
            qkvBias = backbone.containsKey("blocks.0.attn.q_bias");
            imgSize = 256;
            PthReader.FloatTensor periods = backbone.get("rope.periods");
            if (numHeads == 0 && periods != null) numHeads = Math.max(1, dim / (4 * (int) periods.shape()[0]));
        } else {
            long fc1 = require(backbone, "blocks.0.mlp.fc1.weight").shape()[0], fc2 = require(backbone, "blocks.0.mlp.fc2.weight").shape()[1];
            swiglu = fc1 != fc2;
            mlpRatio = fc1 / (double) dim;
            qkvBias = backbone.containsKey("blocks.0.attn.qkv.bias");
            long positions = require(backbone, "pos_embed").shape()[1] - (registers > 0 ? 0 : 1);
            imgSize = (int) Math.round(Math.sqrt(positions)) * patch;
        }
        final int d = depth;
        Optional<Arch> named = Arch.ALL.stream().filter(a -> a.family() == family && a.embedDim() == dim && a.depth() == d
                && a.numRegisterTokens() == registers && a.swiglu() == swiglu && a.qkvBias() == qkvBias && a.patchSize() == patch).findFirst();
        int heads = numHeads > 0 ? numHeads : named.map(Arch::numHeads).orElse(Math.max(1, dim / 64));
        IbotConfigBuilder b = named.isPresent() ? IbotConfig.builder().arch(named.get().name()) : IbotConfig.builder()
                .family(family).layerScaleInit(backbone.containsKey("blocks.0.ls1.gamma") || backbone.containsKey("blocks.0.gamma_1") ? 1e-5 : 0);
        return b.embedDim(dim).depth(depth).numHeads(heads).patchSize(patch).imgSize(imgSize).inChans((int) conv.shape()[1])
                .mlpRatio(mlpRatio).qkvBias(qkvBias).numRegisterTokens(registers).swiglu(swiglu);
    }

    /** The timm name of the architecture these tensors are, if they are one of {@link Arch#ALL}'s. */
    public static Optional<String> archName(IbotConfig c) {
        return Arch.ALL.stream().filter(a -> a.family() == c.family() && a.embedDim() == c.embedDim() && a.depth() == c.depth()
                && a.numHeads() == c.numHeads() && a.numRegisterTokens() == c.numRegisterTokens() && a.swiglu() == c.swiglu()
                && (a.family() == Family.IBOT || (a.qkvBias() == c.qkvBias() && a.patchSize() == c.patchSize()))).map(Arch::name).findFirst();
    }

    /**
     * Checks a file's backbone against the tensor names a model of the chosen architecture has, before anything
     * is written: every expected name present, nothing left over (DINOv3 query and value biases that are all zero
     * may be left over: a model without them computes the same). Shapes are checked as the tensors are written.
     *
     * @param expected the model's tensor names
     * @param file     the file's timm-named tensors
     * @param what     the start of the sentence, naming the file and the architecture
     * @return the file's tensors the model takes, in the model's order
     * @throws IllegalArgumentException naming the missing and unexpected tensors (with the file's shapes)
     */
    public static Map<String, PthReader.FloatTensor> fit(List<String> expected, Map<String, PthReader.FloatTensor> file, String what) {
        List<String> missing = new ArrayList<>(), unknown = new ArrayList<>();
        Map<String, PthReader.FloatTensor> out = new LinkedHashMap<>();
        for (String name : expected) {
            PthReader.FloatTensor t = file.get(name);
            // timm's files carry no RoPE periods (timm computes them): the model keeps its own, timm's values.
            if (t == null && !name.equals("rope.periods")) missing.add(name);
            else if (t != null) out.put(name, t);
        }
        for (Map.Entry<String, PthReader.FloatTensor> e : file.entrySet()) {
            if (expected.contains(e.getKey())) continue;
            boolean zeroBias = (e.getKey().endsWith(".attn.q_bias") || e.getKey().endsWith(".attn.v_bias")) && allZero(e.getValue().data());
            if (!zeroBias) unknown.add(e.getKey() + " " + Arrays.toString(e.getValue().shape()));
        }
        if (missing.isEmpty() && unknown.isEmpty()) return out;
        StringBuilder s = new StringBuilder(what);
        if (!missing.isEmpty()) s.append("; the file lacks ").append(first(missing));
        if (!unknown.isEmpty()) s.append("; the architecture has no ").append(first(unknown));
        if (unknown.stream().anyMatch(u -> u.contains(".attn.q_bias"))) s.append(" (the file's qkv biases are not zero: use the _qkvb variant)");
        throw new IllegalArgumentException(s.toString());
    }

    private static boolean allZero(float[] values) {
        for (float v : values) if (v != 0) return false;
        return true;
    }

    private static String first(List<String> items) {
        return String.join(", ", items.subList(0, Math.min(4, items.size()))) + (items.size() > 4 ? " and " + (items.size() - 4) + " more" : "");
    }

    private static PthReader.FloatTensor require(Map<String, PthReader.FloatTensor> named, String name) {
        PthReader.FloatTensor t = named.get(name);
        if (t == null) throw new IllegalArgumentException("the file has no " + name + "; cannot infer the architecture");
        return t;
    }
}
