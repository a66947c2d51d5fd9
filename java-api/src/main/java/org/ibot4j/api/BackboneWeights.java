package org.ibot4j.api;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.ibot4j.api.io.FoundationLayouts;
import org.ibot4j.api.io.PthReader;
import org.ibot4j.api.io.WeightExchange;

/**
 * One backbone out of a PyTorch file for an {@link Encoder}: an official {@code main_ibot.py} checkpoint
 * (its student or teacher) or a backbone-only {@code .pth} / {@code .safetensors} with timm's names,
 * renamed by {@link WeightExchange} as {@code import} and {@code --load_from} do.
 */
final class BackboneWeights {
    private BackboneWeights() {}

    /** The backbone tensors of {@code network} in {@code file}, by timm name; the student's mask token is left out. */
    static Map<String, PthReader.FloatTensor> read(Path file, Network network) throws IOException {
        Map<String, PthReader.FloatTensor> named;
        try {
            named = WeightExchange.toIbot4jNames(WeightExchange.read(file));
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException(file + " is not an ibot4j checkpoint, a PyTorch .pth or a .safetensors file that ibot4j can read ("
                    + e.getMessage() + ")", e);
        }
        String prefix = network.name().toLowerCase(Locale.ROOT) + ".backbone.";
        Map<String, PthReader.FloatTensor> out = new LinkedHashMap<>();
        for (Map.Entry<String, PthReader.FloatTensor> e : named.entrySet()) {
            if (!e.getKey().startsWith(prefix) || e.getKey().endsWith("masked_embed")) continue;
            out.put(e.getKey().substring(prefix.length()), e.getValue());
        }
        if (!out.containsKey("cls_token")) {
            throw new IllegalArgumentException(file + " holds no " + network.name().toLowerCase(Locale.ROOT)
                    + " ViT backbone (no cls_token among its float tensors: " + firstNames(named) + ")");
        }
        return out;
    }

    /** The architecture the tensors imply; {@code numHeads} 0 means {@code embed_dim / 64}. */
    static IbotConfigBuilder inferConfig(Map<String, PthReader.FloatTensor> backbone, int numHeads) {
        Map<String, PthReader.FloatTensor> named = new LinkedHashMap<>();
        backbone.forEach((k, v) -> named.put("teacher.backbone." + k, v));
        return WeightExchange.inferConfig(named, numHeads);
    }

    /**
     * The architecture named {@code arch} for these tensors: the name's layout and sizes, with the patch and image
     * size of a file with learned positions (official iBOT, DINOv2) read from it, so that a model trained at
     * another size loads.
     */
    static IbotConfigBuilder configOf(String arch, Map<String, PthReader.FloatTensor> backbone) {
        IbotConfigBuilder b = IbotConfig.builder().arch(arch);
        Arch named = Arch.of(arch);
        PthReader.FloatTensor pos = backbone.get("pos_embed"), conv = backbone.get("patch_embed.proj.weight");
        if (pos != null && conv != null && named.family() != Family.DINOV3) {
            int patch = (int) conv.shape()[2];
            long positions = pos.shape()[1] - (named.numRegisterTokens() > 0 ? 0 : 1);
            long side = Math.round(Math.sqrt(positions));
            if (side * side == positions) b.patchSize(patch).imgSize((int) side * patch);
        }
        return b;
    }

    /**
     * Writes every tensor into the encoder. The names are checked first (all of the encoder's present, none
     * left over), the shapes as each is written; either failure names what differs, and the caller closes the
     * encoder, so no partial load is ever used.
     */
    static void write(Encoder encoder, Map<String, PthReader.FloatTensor> backbone, Path file) {
        String arch = FoundationLayouts.archName(encoder.config()).orElse(encoder.config().family().label() + " ViT");
        PthReader.FloatTensor cls = backbone.get("cls_token");
        int depth = 0;
        while (backbone.containsKey("blocks." + depth + ".norm1.weight")) depth++;
        String what = file + " does not hold a " + arch + " backbone (embed_dim " + encoder.config().embedDim() + ", depth "
                + encoder.config().depth() + "; the file's is embed_dim " + (cls == null ? "?" : cls.shape()[cls.shape().length - 1])
                + ", depth " + depth + ")";
        Map<String, PthReader.FloatTensor> fitted = FoundationLayouts.fit(encoder.tensorNames(), backbone, what);
        for (Map.Entry<String, PthReader.FloatTensor> e : fitted.entrySet()) {
            try {
                encoder.writeTensor(e.getKey(), e.getValue().shape(), e.getValue().data());
            } catch (Ibot4jException ex) {
                throw new IllegalArgumentException(what + ": " + ex.getMessage(), ex);
            }
        }
    }

    private static String firstNames(Map<String, ?> named) {
        List<String> names = new ArrayList<>(named.keySet());
        return names.isEmpty() ? "none" : String.join(", ", names.subList(0, Math.min(5, names.size()))) + (names.size() > 5 ? ", ..." : "");
    }
}
