package org.ibot4j.bindings.turbojpeg;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/**
 * The committed TurboJPEG bindings were generated from the turbojpeg.h installed here (ci/regen-bindings
 * records its hash). Skipped where libturbojpeg0-dev is not installed: the bindings are committed, and
 * the trainer falls back to ImageIO without the library.
 */
class TurboJpegBindingsUpToDateTest {
    private static final Path HEADER = Path.of(System.getenv().getOrDefault("TURBOJPEG_H", "/usr/include/turbojpeg.h"));

    @Test
    void installedHeaderHashMatchesTheOneRecordedAtGeneration() throws IOException, NoSuchAlgorithmException {
        assumeTrue(Files.isRegularFile(HEADER), HEADER + " is not installed (apt-get install libturbojpeg0-dev)");
        String actual = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(HEADER)));
        String recorded;
        try (InputStream in = TurboJpegBindingsUpToDateTest.class.getResourceAsStream("turbojpeg.h.sha256")) {
            assertThat(in).as("turbojpeg.h.sha256 written by ci/regen-bindings").isNotNull();
            recorded = new String(in.readAllBytes(), StandardCharsets.US_ASCII).trim();
        }
        assertThat(actual)
                .as("%s differs from the header the TurboJPEG bindings were generated from: run ci/regen-bindings (needs jextract)", HEADER)
                .isEqualTo(recorded);
    }

    @Test
    void everyBoundFunctionIsDeclaredByTheInstalledHeader() throws IOException {
        assumeTrue(Files.isRegularFile(HEADER), HEADER + " is not installed (apt-get install libturbojpeg0-dev)");
        String header = Files.readString(HEADER);
        for (String name : new String[] {"tjInitDecompress", "tjDecompressHeader3", "tjDecompress2", "tjDestroy", "tjGetErrorStr2", "tjGetErrorCode"}) {
            assertThat(header).as("declaration of %s", name).containsPattern("DLLEXPORT [a-z *]+\\b" + name + "\\(");
            assertThat(java.util.Arrays.stream(TurboJpegC.class.getMethods()).anyMatch(m -> m.getName().equals(name))).as("binding for %s", name).isTrue();
        }
    }
}
