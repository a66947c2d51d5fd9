package org.ibot4j.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.LocalDateTime;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.ibot4j.api.io.NamedTensor;
import org.ibot4j.api.io.PthWriter;
import org.ibot4j.api.io.SafeTensorsWriter;
import org.ibot4j.api.io.WeightExchange;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Equal weights give equal export bytes, so exports can be compared and cached by hash. */
class ExportReproducibilityTest {
    private static final List<NamedTensor> TENSORS = List.of(
            new NamedTensor("b.weight", new long[] {2, 3}, new float[] {1, -2, 3.5f, 0, -0.0f, Float.MIN_VALUE}),
            new NamedTensor("a.bias", new long[] {2}, new float[] {7, 8}));

    @TempDir
    Path dir;

    @Test
    void equalModelsExportEqualBytesAndDifferentSeedsDiffer() throws IOException {
        for (WeightExchange.Format format : WeightExchange.Format.values()) {
            Path first = dir.resolve("first." + format), again = dir.resolve("again." + format);
            Path twin = dir.resolve("twin." + format), other = dir.resolve("other." + format);
            try (IbotModel model = IbotModel.create(TinyModels.config(5))) {
                WeightExchange.export(model, Network.TEACHER, format, first);
                WeightExchange.export(model, Network.TEACHER, format, again);
            }
            try (IbotModel model = IbotModel.create(TinyModels.config(5))) {
                WeightExchange.export(model, Network.TEACHER, format, twin);
            }
            try (IbotModel model = IbotModel.create(TinyModels.config(6))) {
                WeightExchange.export(model, Network.TEACHER, format, other);
            }
            assertThat(Files.mismatch(first, again)).as(format + " export twice").isEqualTo(-1);
            assertThat(Files.mismatch(first, twin)).as(format + " two models of one seed").isEqualTo(-1);
            assertThat(Files.mismatch(first, other)).as(format + " different seeds").isNotEqualTo(-1);
        }
        try (var files = Files.list(dir)) {
            assertThat(files).hasSize(8);  // no temporary files left behind
        }
    }

    @Test
    void pthEntriesCarryAFixedTimeNotTheWriteTime() throws IOException {
        Path file = dir.resolve("t.pth");
        PthWriter.write(file, TENSORS);
        try (ZipFile zip = new ZipFile(file.toFile())) {
            for (ZipEntry e : zip.stream().toList()) {
                assertThat(e.getTimeLocal()).as(e.getName()).isEqualTo(LocalDateTime.of(1980, 2, 1, 0, 0));
                assertThat(e.getExtra()).as(e.getName() + " has only the alignment field").startsWith((byte) 'F', (byte) 'B');
            }
        }
        // Every entry's data starts on a 64-byte boundary, as torch.save writes it (for mmap loading).
        ByteBuffer bytes = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        int entries = 0;
        for (int at = 0; bytes.getInt(at) == 0x04034b50; entries++) {
            int data = at + 30 + Short.toUnsignedInt(bytes.getShort(at + 26)) + Short.toUnsignedInt(bytes.getShort(at + 28));
            assertThat(data % 64).as("data offset of entry " + entries).isZero();
            at = data + bytes.getInt(at + 18);
        }
        assertThat(entries).isEqualTo(2 + TENSORS.size() + 1);
    }

    @Test
    void safetensorsHeaderOrderDoesNotDependOnTheMetadataMapsOrder() throws IOException {
        Map<String, String> ab = new LinkedHashMap<>(), ba = new LinkedHashMap<>();
        ab.put("a", "1");
        ab.put("b", "2");
        ba.put("b", "2");
        ba.put("a", "1");
        byte[] first = safetensors(TENSORS, ab), second = safetensors(TENSORS, ba);
        assertThat(first).isEqualTo(second);
        String header = new String(first, 8, 120, StandardCharsets.UTF_8);
        assertThat(header).startsWith("{\"__metadata__\":{\"a\":\"1\",\"b\":\"2\"},\"b.weight\":");
        assertThat(header.indexOf("\"b.weight\"")).isLessThan(header.indexOf("\"a.bias\""));
    }

    @Test
    void safetensorsRefusesDuplicateAndReservedNames() {
        NamedTensor t = TENSORS.get(1);
        assertThatThrownBy(() -> safetensors(List.of(t, t), Map.of()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("a.bias");
        NamedTensor reserved = new NamedTensor("__metadata__", t.shape(), t.data());
        assertThatThrownBy(() -> safetensors(List.of(reserved), Map.of()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("__metadata__");
    }

    /**
     * Pins the bytes across JVM runs, which a comparison within one run cannot (HashMap and Map.of
     * orders, the clock and the time zone vary between runs). A deliberate format change updates these.
     */
    @Test
    void exportBytesAreTheSameInEveryRun() throws IOException {
        Path pth = dir.resolve("pinned.pth"), st = dir.resolve("pinned.safetensors");
        PthWriter.write(pth, TENSORS);
        SafeTensorsWriter.write(st, TENSORS, Map.of("format", "pt", "source", "test", "z", "last"));
        assertThat(sha256(Files.readAllBytes(pth))).isEqualTo(PINNED_PTH);
        assertThat(sha256(Files.readAllBytes(st))).isEqualTo(PINNED_SAFETENSORS);
    }

    private static final String PINNED_PTH = "ce557dbbe153ced76e01a31544a6239cf23cc5173e3dc500337dcfeaecaa1af2";
    private static final String PINNED_SAFETENSORS = "8ae563484f27f5d014d8e72a6c43a0f16578f158cbf982ffcee4bea800670d6a";

    private static byte[] safetensors(List<NamedTensor> tensors, Map<String, String> metadata) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        SafeTensorsWriter.write(out, tensors, metadata);
        return out.toByteArray();
    }

    private static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }
}
