package org.ibot4j.api;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
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
    static IbotConfig.Builder inferConfig(Map<String, PthReader.FloatTensor> backbone, int numHeads) {
        Map<String, PthReader.FloatTensor> named = new LinkedHashMap<>();
        backbone.forEach((k, v) -> named.put("teacher.backbone." + k, v));
        return WeightExchange.inferConfig(named, numHeads);
    }

    /** Writes every tensor into the encoder; the file must hold exactly the encoder's tensors. */
    static void write(Encoder encoder, Map<String, PthReader.FloatTensor> backbone, Path file) {
        List<String> names = encoder.tensorNames();
        List<String> missing = names.stream().filter(n -> !backbone.containsKey(n)).toList();
        List<String> unknown = backbone.keySet().stream().filter(n -> !names.contains(n)).toList();
        if (!missing.isEmpty() || !unknown.isEmpty()) {
            throw new IllegalArgumentException(file + " does not hold a ViT backbone ibot4j can run:"
                    + (missing.isEmpty() ? "" : " missing " + missing) + (unknown.isEmpty() ? "" : " unknown " + unknown));
        }
        for (String name : names) {
            PthReader.FloatTensor t = backbone.get(name);
            encoder.writeTensor(name, t.shape(), t.data());
        }
    }

    private static String firstNames(Map<String, ?> named) {
        List<String> names = new ArrayList<>(named.keySet());
        return names.isEmpty() ? "none" : String.join(", ", names.subList(0, Math.min(5, names.size()))) + (names.size() > 5 ? ", ..." : "");
    }
}
