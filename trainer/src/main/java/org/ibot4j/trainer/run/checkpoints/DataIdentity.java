package org.ibot4j.trainer.run.checkpoints;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import org.ibot4j.trainer.data.ImageSource;
import org.ibot4j.trainer.data.ShardedImageSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which data a run trains on, stored in every checkpoint: the {@code --data} path as given, the image
 * count and a fingerprint of the items (their names and labels as {@link ImageSource#identify} gives
 * them). The data decides the iterations per epoch and so every schedule: a resume on other data is
 * refused like any other changed training option, unless {@code --change_data} asks for it.
 */
public record DataIdentity(String path, int images, String fingerprint) {
    public static final String KEY = "data";
    private static final Logger LOG = LoggerFactory.getLogger(DataIdentity.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    public static DataIdentity of(String path, ImageSource source) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            sha.update((source.size() + "\n" + source.numClasses() + "\n").getBytes(StandardCharsets.UTF_8));
            // Shards are not read again to fingerprint them: their names, sizes and counts stand for the items.
            if (source instanceof ShardedImageSource sharded) sha.update(sharded.fingerprint().getBytes(StandardCharsets.UTF_8));
            for (int i = 0; i < source.size() && !(source instanceof ShardedImageSource); i++) {
                sha.update((source.label(i) + " " + source.identify(i) + "\n").getBytes(StandardCharsets.UTF_8));
            }
            return new DataIdentity(path, source.size(), HexFormat.of().formatHex(sha.digest(), 0, 8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("this JVM has no SHA-256", e);
        }
    }

    public ObjectNode toJson() {
        return JSON.createObjectNode().put("path", path).put("images", images).put("fingerprint", fingerprint);
    }

    /**
     * Refuses to resume on data other than the checkpoint's.
     *
     * @param stored the checkpoint's identity; null for checkpoints written before ibot4j stored it
     * @param now the data of this command
     * @param changeData the user's {@code --change_data}
     */
    static void requireSame(JsonNode stored, DataIdentity now, boolean changeData) {
        if (stored == null || stored.isNull()) {
            LOG.info("the checkpoint does not record its data (written by an older ibot4j): resuming on {} unchecked", now.path);
            return;
        }
        DataIdentity then = new DataIdentity(stored.path("path").asText(), stored.path("images").asInt(), stored.path("fingerprint").asText());
        boolean samePlace = Path.of(then.path).toAbsolutePath().normalize().equals(Path.of(now.path).toAbsolutePath().normalize())
                || then.path.equals(now.path);
        boolean sameContent = then.images == now.images && then.fingerprint.equals(now.fingerprint);
        if (samePlace && sameContent) return;
        String change = "data is " + then + " in the checkpoint, " + now + " now";
        if (changeData) {
            LOG.warn("--change_data: resuming on other data ({}); iterations per epoch and the schedules follow the new data from here", change);
            return;
        }
        throw new IllegalArgumentException("cannot resume with different training options (start a new --output instead):\n  " + change
                + (sameContent ? " (the same images at another path" : " (other images: the iterations per epoch and the lr and weight-decay"
                        + " schedules would change mid-run") + "; to go on anyway, add --change_data)");
    }

    @Override
    public String toString() {
        return path + " (" + images + " images, fingerprint " + fingerprint + ")";
    }
}
