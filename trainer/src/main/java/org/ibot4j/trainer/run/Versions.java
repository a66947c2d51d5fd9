package org.ibot4j.trainer.run;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/** ibot4j's own version, filtered into a resource by Maven, for checkpoints and {@code doctor}. */
public final class Versions {
    private Versions() {}

    public static String ibot4j() {
        try (InputStream in = Versions.class.getResourceAsStream("/org/ibot4j/trainer/version.properties")) {
            if (in == null) return "unknown";
            Properties p = new Properties();
            p.load(in);
            return p.getProperty("version", "unknown");
        } catch (IOException e) {
            return "unknown";
        }
    }
}
