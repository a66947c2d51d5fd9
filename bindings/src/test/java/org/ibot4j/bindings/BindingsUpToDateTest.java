package org.ibot4j.bindings;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/** The committed bindings were generated from the header as it is now (ci/regen-bindings records its hash). */
class BindingsUpToDateTest {

    @Test
    void headerHashMatchesTheOneRecordedAtGeneration() throws IOException, NoSuchAlgorithmException {
        Path header = Path.of(System.getProperty("ibot4j.root", ".."), "native", "include", "ibot4j.h");
        assertThat(header).as("the C header").isRegularFile();
        String actual = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(header)));
        String recorded;
        try (InputStream in = BindingsUpToDateTest.class.getResourceAsStream("ibot4j.h.sha256")) {
            assertThat(in).as("ibot4j.h.sha256 written by ci/regen-bindings").isNotNull();
            recorded = new String(in.readAllBytes(), StandardCharsets.US_ASCII).trim();
        }
        assertThat(actual)
                .as("native/include/ibot4j.h changed since the bindings were generated: run ci/regen-bindings (needs jextract)")
                .isEqualTo(recorded);
    }

    @Test
    void everyFunctionOfTheHeaderHasABinding() throws IOException {
        Path header = Path.of(System.getProperty("ibot4j.root", ".."), "native", "include", "ibot4j.h");
        var functions = java.util.regex.Pattern.compile("int32_t (ibot4j_[a-z_]+)\\(").matcher(Files.readString(header));
        int count = 0;
        while (functions.find()) {
            String name = functions.group(1);
            assertThat(java.util.Arrays.stream(Ibot4jC.class.getMethods()).anyMatch(m -> m.getName().equals(name)))
                    .as("binding for %s", name).isTrue();
            count++;
        }
        assertThat(count).isGreaterThanOrEqualTo(10);
    }
}
