package org.ibot4j.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.ibot4j.api.io.NamedTensor;
import org.ibot4j.api.io.PthWriter;
import org.ibot4j.api.io.SafeTensors;
import org.ibot4j.api.io.SafeTensorsWriter;
import org.ibot4j.api.io.WeightExchange;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Weight files as users hold them, wrapped, in half precision, cut short or lying about their sizes. */
class HostileWeightsTest {
    @TempDir
    static Path dir;
    static List<NamedTensor> backbone;

    @BeforeAll
    static void tensors() {
        try (IbotModel model = IbotModel.create(TinyModels.config(13))) {
            backbone = WeightExchange.backbone(model, Network.TEACHER);
        }
    }

    @Test
    void aTruncatedPthNamesTheFile() throws IOException {
        Path whole = dir.resolve("whole.pth"), cut = dir.resolve("cut.pth");
        PthWriter.write(whole, backbone);
        byte[] bytes = Files.readAllBytes(whole);
        Files.write(cut, Arrays.copyOf(bytes, bytes.length / 2));
        assertThatThrownBy(() -> Encoder.open(cut)).hasMessageContaining(cut.toString());
    }

    @Test
    void halfPrecisionSafetensorsLoadAsHalfPrecisionPthDoes() throws IOException {
        Path f16 = dir.resolve("f16.safetensors"), bf16 = dir.resolve("bf16.safetensors");
        writeHalf(f16, "F16");
        writeHalf(bf16, "BF16");
        for (Path file : List.of(f16, bf16)) {
            Map<String, org.ibot4j.api.io.PthReader.FloatTensor> read = WeightExchange.read(file);
            assertThat(read).containsKeys("cls_token", "blocks.0.attn.qkv.weight");
            float[] original = backbone.get(1).data(), got = read.get(backbone.get(1).name()).data();
            for (int i = 0; i < original.length; i++) assertThat(got[i]).isCloseTo(original[i], org.assertj.core.data.Offset.offset(0.01f));
            try (Encoder encoder = Encoder.open(file, Encoder.Options.defaults().threads(1).numHeads(4))) {
                assertThat(encoder.dim()).isEqualTo(64);
            }
        }
    }

    @Test
    void aTrainingScriptsWrapperIsUnwrapped() throws IOException {
        // torch.save({'model': state_dict, 'optimizer': ...}): the keys read 'model.<name>'.
        List<NamedTensor> wrapped = new ArrayList<>();
        for (NamedTensor t : backbone) wrapped.add(new NamedTensor("model." + t.name(), t.shape(), t.data()));
        wrapped.add(new NamedTensor("optimizer.state.0.exp_avg", new long[] {2}, new float[] {1, 2}));
        Path file = dir.resolve("wrapped.pth");
        PthWriter.write(file, wrapped);
        try (Encoder encoder = Encoder.open(file, Encoder.Options.defaults().threads(1).numHeads(4))) {
            assertThat(encoder.dim()).isEqualTo(64);
        }
    }

    @Test
    void aSafetensorsEntryWhoseBytesDoNotMatchItsShapeIsRefused() throws IOException {
        Path file = dir.resolve("liar.safetensors");
        ObjectNode header = new ObjectMapper().createObjectNode();
        ObjectNode entry = header.putObject("cls_token");
        entry.put("dtype", "F32");
        entry.putArray("shape").add(1).add(1).add(1_000_000);
        entry.putArray("data_offsets").add(0).add(8);
        byte[] json = header.toString().getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(json.length).array());
        out.write(json);
        out.write(new byte[8]);
        Files.write(file, out.toByteArray());
        assertThatThrownBy(() -> SafeTensors.open(file).close()).isInstanceOf(IOException.class)
                .hasMessageContaining(file.toString()).hasMessageContaining("declares shape [1, 1, 1000000] of F32 but holds 8 bytes");
    }

    @Test
    void headersOfOutputsPast2To31BytesCountInLongs() throws IOException {
        // 700,000 images x 768 features: 2,150,400,000 bytes, past what an int offset can say.
        byte[] header = SafeTensorsWriter.header(Map.of("features", new long[] {700_000, 768}), Map.of());
        String json = new String(header, 8, header.length - 8, StandardCharsets.UTF_8);
        assertThat(json).contains("\"data_offsets\":[0,2150400000]").contains("\"shape\":[700000,768]");
        assertThat(header.length % 8).isZero();
    }

    private static void writeHalf(Path file, String dtype) throws IOException {
        ObjectNode header = new ObjectMapper().createObjectNode();
        ByteArrayOutputStream data = new ByteArrayOutputStream();
        for (NamedTensor t : backbone) {
            ObjectNode entry = header.putObject(t.name());
            entry.put("dtype", dtype);
            var shape = entry.putArray("shape");
            for (long s : t.shape()) shape.add(s);
            entry.putArray("data_offsets").add(data.size()).add(data.size() + 2L * t.data().length);
            ByteBuffer b = ByteBuffer.allocate(2 * t.data().length).order(ByteOrder.LITTLE_ENDIAN);
            for (float v : t.data()) b.putShort(dtype.equals("F16") ? Float.floatToFloat16(v) : (short) (Float.floatToIntBits(v) >>> 16));
            data.write(b.array());
        }
        byte[] json = header.toString().getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(json.length).array());
        out.write(json);
        out.write(data.toByteArray());
        Files.write(file, out.toByteArray());
    }
}
