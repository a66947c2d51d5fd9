package org.ibot4j.api.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Optional;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.ibot4j.api.IbotConfig;

/**
 * What an exported backbone needs besides its weights to embed as its run did: the architecture (heads,
 * which weights cannot tell; patch and training image size) and the run's normalisation. Stored as JSON
 * under the metadata key {@value #KEY} of a .safetensors file and as the record {@code archive/ibot4j.json}
 * of a .pth zip (which {@code torch.load} ignores).
 *
 * @param config the backbone's architecture (its head fields describe the source checkpoint)
 * @param mean   per-channel normalisation mean of the run, or null when unknown
 * @param std    per-channel normalisation standard deviation of the run, or null when unknown
 */
public record BackboneMetadata(IbotConfig config, double[] mean, double[] std) {
    /** The safetensors metadata key, and the .pth record's name without extension. */
    public static final String KEY = "ibot4j";

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long LARGEST_RECORD = 1 << 20;

    /** Checks that mean and std come together with one or three channels. */
    public BackboneMetadata {
        if (config == null) throw new IllegalArgumentException("config must be given");
        if ((mean == null) != (std == null)) throw new IllegalArgumentException("mean and std go together");
        if (mean != null && (mean.length != std.length || (mean.length != 1 && mean.length != 3))) {
            throw new IllegalArgumentException("mean and std need 1 or 3 channels each");
        }
    }

    /** The JSON text stored in the file. */
    public String toJson() {
        ObjectNode root = JSON.createObjectNode();
        root.put("format", 1);
        root.set("config", config.toJson());
        if (mean != null) {
            var m = root.putArray("mean");
            for (double v : mean) m.add(v);
            var s = root.putArray("std");
            for (double v : std) s.add(v);
        }
        return root.toString();
    }

    /**
     * The metadata stored in {@code file} (.safetensors or .pth), empty when it has none.
     *
     * @throws IOException when the file carries metadata that cannot be read (damaged or from a newer ibot4j)
     */
    public static Optional<BackboneMetadata> read(Path file) throws IOException {
        String text = ZipIntegrity.startsLikeZip(file) ? pthRecord(file) : safetensorsEntry(file);
        if (text == null) return Optional.empty();
        try {
            JsonNode root = JSON.readTree(text);
            IbotConfig config = IbotConfig.fromJson(root.get("config"));
            double[] mean = root.has("mean") ? doubles(root.get("mean")) : null, std = root.has("std") ? doubles(root.get("std")) : null;
            return Optional.of(new BackboneMetadata(config, mean, std));
        } catch (IOException | RuntimeException e) {
            throw new IOException(file + " carries ibot4j metadata that cannot be read (" + e.getMessage() + ")", e);
        }
    }

    private static String safetensorsEntry(Path file) throws IOException {
        try (SafeTensors st = SafeTensors.open(file)) {
            return st.metadata().get(KEY);
        }
    }

    private static String pthRecord(Path file) throws IOException {
        try (ZipFile zip = new ZipFile(file.toFile())) {
            ZipEntry entry = zip.stream().filter(e -> e.getName().endsWith("/" + KEY + ".json")).findFirst().orElse(null);
            if (entry == null) return null;
            if (entry.getSize() > LARGEST_RECORD) throw new IOException(file + ": its " + entry.getName() + " is larger than 1 MiB");
            try (InputStream in = zip.getInputStream(entry)) {
                return new String(in.readNBytes((int) LARGEST_RECORD), StandardCharsets.UTF_8);
            }
        }
    }


    private static double[] doubles(JsonNode array) {
        double[] out = new double[array.size()];
        for (int i = 0; i < out.length; i++) out[i] = array.get(i).asDouble();
        return out;
    }
}
