package org.ibot4j.api.io;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.ibot4j.api.IbotConfig;
import org.ibot4j.api.IbotConfigBuilder;
import org.ibot4j.api.IbotModel;
import org.ibot4j.api.Network;

/**
 * Weights to and from the PyTorch world. Export writes one backbone with timm's ViT key names
 * ({@code cls_token}, {@code pos_embed}, {@code patch_embed.proj.*}, {@code blocks.i.*}, {@code norm.*});
 * import reads official {@code main_ibot.py} checkpoints ({@code student}/{@code teacher} entries,
 * {@code module.} and {@code backbone.} prefixes, heads, centres) and backbone-only files, and reports
 * every key it could not place.
 */
public final class WeightExchange {
    /** The file formats of an export. */
    public enum Format {
        /** PyTorch's zip format, loadable with {@code torch.load(path, weights_only=True)}. */
        PTH,
        /** Hugging Face safetensors. */
        SAFETENSORS;

        /**
         * Parses a format name.
         *
         * @param name pth (or pt) or safetensors, any case
         * @return the format
         * @throws IllegalArgumentException for another name
         */
        public static Format of(String name) {
            return switch (name.toLowerCase(Locale.ROOT)) {
                case "pth", "pt" -> PTH;
                case "safetensors" -> SAFETENSORS;
                default -> throw new IllegalArgumentException("unknown format '" + name + "' (pth or safetensors)");
            };
        }
    }

    /**
     * What an import did.
     *
     * @param loaded model tensors written from the file
     * @param missing model tensors the file lacked (kept at initialisation)
     * @param unknown file tensors with no place in the model
     * @param aliases file tensors skipped as aliases of a shared head
     */
    public record ImportReport(List<String> loaded, List<String> missing, List<String> unknown, List<String> aliases) {}

    private WeightExchange() {}

    /** The backbone of {@code which}, timm-named; the student's mask token is not part of a timm ViT. */
    public static List<NamedTensor> backbone(IbotModel model, Network which) {
        String prefix = which.name().toLowerCase(Locale.ROOT) + ".backbone.";
        List<NamedTensor> out = new ArrayList<>();
        for (String name : model.tensorNames()) {
            // timm computes DINOv3's RoPE periods itself (a buffer it does not save), so its files have none.
            if (!name.startsWith(prefix) || name.endsWith("masked_embed") || name.equals(prefix + "rope.periods")) continue;
            out.add(new NamedTensor(name.substring(prefix.length()), model.tensorShape(name), model.readTensor(name)));
        }
        return out;
    }

    /**
     * Replaces {@code out} atomically (see {@link AtomicFiles}) with the backbone; the same weights give
     * the same bytes, so exports can be compared and cached by hash.
     */
    public static void export(IbotModel model, Network which, Format format, Path out) throws IOException {
        export(model, which, format, out, null, null);
    }

    /**
     * As {@link #export(IbotModel, Network, Format, Path)}, recording with the weights what an Encoder needs
     * to embed as the run did ({@link BackboneMetadata}): the architecture and, when given, the run's
     * normalisation ({@code mean}, {@code std}: 1 or 3 channels, or null when unknown).
     */
    public static void export(IbotModel model, Network which, Format format, Path out, double[] mean, double[] std) throws IOException {
        write(backbone(model, which), format, out, "ibot4j " + which.name().toLowerCase(Locale.ROOT) + " backbone",
                new BackboneMetadata(model.config(), mean, std).toJson());
    }

    /**
     * Replaces {@code out} atomically with these tensors in {@code format}, {@code metadata} ({@link BackboneMetadata}'s
     * JSON) recorded with them; {@code source} goes into safetensors' metadata.
     */
    public static void write(List<NamedTensor> tensors, Format format, Path out, String source, String metadata) throws IOException {
        if (format == Format.PTH) {
            PthWriter.write(out, tensors, metadata);
        } else {
            SafeTensorsWriter.write(out, tensors, Map.of("format", "pt", "source", source, BackboneMetadata.KEY, metadata));
        }
    }

    /** Float tensors of a .pth (torch.save zip) or .safetensors file, by their names in the file. */
    public static Map<String, PthReader.FloatTensor> read(Path file) throws IOException {
        if (ZipIntegrity.startsLikeZip(file)) return PthReader.floatTensors(PthReader.read(file));
        Map<String, PthReader.FloatTensor> out = new LinkedHashMap<>();
        try (SafeTensors st = SafeTensors.open(file)) {
            for (Map.Entry<String, SafeTensors.Entry> e : st.entries().entrySet()) {
                if (SafeTensors.isFloating(e.getValue().dtype())) out.put(e.getKey(), new PthReader.FloatTensor(e.getValue().shape(), st.floats(e.getKey())));
            }
        }
        return out;
    }

    /**
     * Renames file keys to ibot4j's tensor names. Official checkpoints: {@code student.[module.]backbone.X}
     * -> {@code student.backbone.X}, {@code teacher.backbone.X} as is, {@code ibot_loss.center[2]} ->
     * {@code loss.center[2]}. Backbone-only files ({@code [module.][backbone.]X}): the same weights seed
     * both student and teacher.
     */
    public static Map<String, PthReader.FloatTensor> toIbot4jNames(Map<String, PthReader.FloatTensor> file) {
        boolean official = file.keySet().stream().anyMatch(k -> k.startsWith("student.") || k.startsWith("teacher."));
        if (!official) file = unwrapped(file);
        Map<String, PthReader.FloatTensor> out = new LinkedHashMap<>();
        if (!official) {
            // A backbone alone: timm's names, or Meta's DINOv2 / DINOv3 ones (FoundationLayouts).
            Map<String, PthReader.FloatTensor> backbone = new LinkedHashMap<>();
            file.forEach((key, value) -> backbone.put(stripPrefix(stripPrefix(key, "module."), "backbone."), value));
            for (Map.Entry<String, PthReader.FloatTensor> e : FoundationLayouts.toTimmNames(backbone).entrySet()) {
                out.put("student.backbone." + e.getKey(), e.getValue());
                if (!e.getKey().equals("masked_embed")) out.put("teacher.backbone." + e.getKey(), e.getValue());
            }
            return out;
        }
        for (Map.Entry<String, PthReader.FloatTensor> e : file.entrySet()) {
            String key = e.getKey();
            if (key.startsWith("student.module.")) key = "student." + key.substring("student.module.".length());
            if (key.startsWith("teacher.module.")) key = "teacher." + key.substring("teacher.module.".length());
            if (key.startsWith("ibot_loss.")) key = "loss." + key.substring("ibot_loss.".length());
            out.put(key, e.getValue());
        }
        // DINOv2 / DINOv3 training checkpoints (Meta's teacher_checkpoint.pth: {"teacher": {"backbone.*": ...}}) hold
        // their backbones in Meta's names; the official iBOT ViT's come back unchanged.
        for (String net : List.of("student.backbone.", "teacher.backbone.")) {
            Map<String, PthReader.FloatTensor> backbone = new LinkedHashMap<>();
            for (Iterator<Map.Entry<String, PthReader.FloatTensor>> it = out.entrySet().iterator(); it.hasNext();) {
                Map.Entry<String, PthReader.FloatTensor> e = it.next();
                if (!e.getKey().startsWith(net)) continue;
                backbone.put(e.getKey().substring(net.length()), e.getValue());
                it.remove();
            }
            FoundationLayouts.toTimmNames(backbone).forEach((k, v) -> out.put(net + k, v));
        }
        return out;
    }

    /** Writes every named tensor the model has; shape mismatches are errors, leftovers are reported. */
    public static ImportReport apply(IbotModel model, Map<String, PthReader.FloatTensor> named) {
        List<String> modelNames = model.tensorNames();
        List<String> loaded = new ArrayList<>(), unknown = new ArrayList<>(), aliases = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        for (Map.Entry<String, PthReader.FloatTensor> e : named.entrySet()) {
            String name = e.getKey();
            if (!modelNames.contains(name)) {
                // A shared official head lists its one projection under last_layer and last_layer2.
                String primary = name.replace("last_layer2.", "last_layer.");
                PthReader.FloatTensor other = named.get(primary);
                if (!primary.equals(name) && other != null && Arrays.equals(other.data(), e.getValue().data())) {
                    aliases.add(name);
                } else {
                    unknown.add(name);
                }
                continue;
            }
            long[] shape = model.tensorShape(name);
            if (!Arrays.equals(shape, e.getValue().shape())) {
                problems.add(name + ": file " + Arrays.toString(e.getValue().shape()) + ", model " + Arrays.toString(shape));
                continue;
            }
            loaded.add(name);
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException("shapes differ between the file and the model (nothing was written):\n  " + String.join("\n  ", problems));
        }
        for (String name : loaded) model.writeTensor(name, named.get(name).data());
        List<String> missing = modelNames.stream().filter(n -> !named.containsKey(n)).toList();
        return new ImportReport(loaded, missing, unknown, aliases);
    }

    /**
     * The architecture a file's tensors imply (dims, depth, patch and image size, head sizes, sharing);
     * {@code numHeads} cannot be read from weights: give it, or 0 for the usual ViT ({@code embed_dim / 64}).
     */
    public static IbotConfigBuilder inferConfig(Map<String, PthReader.FloatTensor> named, int numHeads) {
        String net = named.containsKey("teacher.backbone.cls_token") ? "teacher" : "student";
        Map<String, PthReader.FloatTensor> backbone = new LinkedHashMap<>();
        named.forEach((k, v) -> {
            if (k.startsWith(net + ".backbone.")) backbone.put(k.substring((net + ".backbone.").length()), v);
        });
        IbotConfigBuilder b = FoundationLayouts.family(backbone).map(f -> FoundationLayouts.inferConfig(backbone, f, numHeads))
                .orElseGet(() -> officialVit(named, net, numHeads));
        PthReader.FloatTensor mlp0 = named.get("student.head.mlp.0.weight");
        if (mlp0 != null) {
            int out = (int) require(named, "student.head.last_layer.weight_v").shape()[0];
            PthReader.FloatTensor patchV = named.get("student.head.last_layer2.weight_v");
            boolean studentShared = patchV == null || Arrays.equals(patchV.data(), named.get("student.head.last_layer.weight_v").data());
            b.hiddenDim((int) mlp0.shape()[0]).bottleneckDim((int) require(named, "student.head.mlp.4.weight").shape()[0])
                    .outDim(out).patchOutDim(studentShared ? out : (int) patchV.shape()[0]).sharedHead(studentShared);
        }
        return b;
    }

    /**
     * The backbone of a training script's wrapper ({@code {'model': state_dict}}, {@code {'state_dict': ...}},
     * {@code {'model_ema': ...}}, with an optimizer beside it): when exactly one key ends in {@code cls_token},
     * the keys under the same prefix, with the prefix removed; otherwise the file's keys as they are.
     */
    static Map<String, PthReader.FloatTensor> unwrapped(Map<String, PthReader.FloatTensor> file) {
        List<String> cls = file.keySet().stream().filter(k -> k.equals("cls_token") || k.endsWith(".cls_token")).toList();
        if (cls.size() != 1) return file;
        String prefix = cls.get(0).substring(0, cls.get(0).length() - "cls_token".length());
        // transformers keeps [CLS] in its embeddings module: the prefix is what stands before it (dinov2. of a classifier).
        prefix = stripSuffix(stripSuffix(stripSuffix(prefix, "embeddings."), "backbone."), "module.");
        if (prefix.isEmpty()) return file;
        Map<String, PthReader.FloatTensor> out = new LinkedHashMap<>();
        for (Map.Entry<String, PthReader.FloatTensor> e : file.entrySet()) {
            if (e.getKey().startsWith(prefix)) out.put(e.getKey().substring(prefix.length()), e.getValue());
        }
        return out;
    }

    private static IbotConfigBuilder officialVit(Map<String, PthReader.FloatTensor> named, String net, int numHeads) {
        PthReader.FloatTensor cls = require(named, net + ".backbone.cls_token");
        PthReader.FloatTensor conv = require(named, net + ".backbone.patch_embed.proj.weight");
        PthReader.FloatTensor pos = require(named, net + ".backbone.pos_embed");
        int dim = (int) cls.shape()[2], patch = (int) conv.shape()[2];
        int depth = 0;
        while (named.containsKey(net + ".backbone.blocks." + depth + ".norm1.weight")) depth++;
        int grid = (int) Math.round(Math.sqrt(pos.shape()[1] - 1));
        return IbotConfig.builder().embedDim(dim).depth(depth).patchSize(patch).imgSize(grid * patch)
                .inChans((int) conv.shape()[1]).numHeads(numHeads > 0 ? numHeads : Math.max(1, dim / 64))
                .mlpRatio(require(named, net + ".backbone.blocks.0.mlp.fc1.weight").shape()[0] / (double) dim)
                .qkvBias(named.containsKey(net + ".backbone.blocks.0.attn.qkv.bias"));
    }

    private static String stripSuffix(String s, String suffix) {
        return s.endsWith(suffix) ? s.substring(0, s.length() - suffix.length()) : s;
    }

    private static PthReader.FloatTensor require(Map<String, PthReader.FloatTensor> named, String name) {
        PthReader.FloatTensor t = named.get(name);
        if (t == null) throw new IllegalArgumentException("the file has no " + name + "; cannot infer the architecture");
        return t;
    }

    private static String stripPrefix(String s, String prefix) {
        return s.startsWith(prefix) ? s.substring(prefix.length()) : s;
    }

}
