package org.ibot4j.trainer.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.ibot4j.api.Encoder;
import org.ibot4j.api.IbotModel;
import org.ibot4j.api.Network;
import org.ibot4j.api.io.SafeTensors;
import org.ibot4j.trainer.data.FashionPngs;
import org.ibot4j.trainer.data.IdxDataset;
import org.ibot4j.trainer.data.IdxDatasetTest;
import org.ibot4j.trainer.data.IdxSource;
import org.ibot4j.trainer.eval.EvalViews;
import org.ibot4j.trainer.eval.Features;
import org.ibot4j.trainer.run.running.PretrainerTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EmbedTest {
    @Test
    void featuresOfAFolderWithTheirFileNamesSkippingABrokenImage(@TempDir Path dir) throws IOException {
        Path checkpoint = PretrainerTest.run(PretrainerTest.tiny(dir.resolve("run"), Map.of("max_steps", 2)),
                new PrintStream(new ByteArrayOutputStream())).checkpoint();
        Path images = FashionPngs.write(dir.resolve("images"), 5);
        IdxDataset fashion = IdxDataset.read(IdxDatasetTest.FASHION, "t10k").head(5);
        Files.write(images.resolve("img2b.png"), new byte[] {(byte) 0x89, 'P', 'N', 'G', 1, 2, 3});  // damaged

        Path safetensors = dir.resolve("out/features.safetensors"), npy = dir.resolve("out/features.npy");
        PrintStream quiet = new PrintStream(new ByteArrayOutputStream());
        Encoder.Options options = Encoder.Options.defaults().threads(2);
        EmbedCommand.run(checkpoint, images.toString(), options, safetensors, quiet);
        EmbedCommand.run(checkpoint, images.toString(), options, npy, quiet);

        float[] expected;
        try (IbotModel model = IbotModel.open(checkpoint, 2)) {
            EvalViews eval = EvalViews.of(checkpoint, model.config());
            float[][] rows = Features.cls(model, Network.TEACHER, new IdxSource(fashion), eval.views(), eval.size());
            expected = new float[rows.length * rows[0].length];
            for (int i = 0; i < rows.length; i++) System.arraycopy(rows[i], 0, expected, i * rows[0].length, rows[0].length);
        }
        try (SafeTensors st = SafeTensors.open(safetensors)) {
            assertThat(st.entry("features").shape()).containsExactly(5, 32);
            List<?> files = new ObjectMapper().readValue(st.metadata().get("files"), List.class);
            assertThat(files).hasSize(5).allSatisfy(f -> assertThat(f.toString()).doesNotContain("img2b"));
            assertThat(files.get(0).toString()).endsWith("img0.png");
            // PNG round trip of 8-bit pixels is lossless: the same features as the IDX images.
            assertThat(st.floats("features")).containsExactly(expected);
        }
        byte[] bytes = Files.readAllBytes(npy);
        int headerLength = ByteBuffer.wrap(bytes, 8, 2).order(ByteOrder.LITTLE_ENDIAN).getShort();
        String header = new String(bytes, 10, headerLength, StandardCharsets.US_ASCII);
        assertThat(header).contains("'descr': '<f4'").contains("'shape': (5, 32)");
        assertThat((10 + headerLength) % 64).isZero();
        float[] data = new float[5 * 32];
        ByteBuffer.wrap(bytes, 10 + headerLength, data.length * 4).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(data);
        assertThat(data).containsExactly(expected);
        List<String> lines = Files.readAllLines(dir.resolve("out/features.npy.files.jsonl"));
        assertThat(lines).hasSize(5);
        assertThat(new ObjectMapper().readValue(lines.get(0), String.class)).endsWith("img0.png");

        // The same weights as TorchScript: a LibTorch module file with ibot4j's code in it.
        Path module = dir.resolve("out/teacher.pt");
        CliTest.Result exported = CliTest.run("export", "--checkpoint", checkpoint.toString(), "--format", "torchscript", "--output", module.toString());
        assertThat(exported.code()).as(exported.err()).isZero();
        assertThat(exported.out()).contains("TorchScript");
        try (ZipFile zip = new ZipFile(module.toFile())) {
            assertThat(zip.stream().map(ZipEntry::getName)).anyMatch(n -> n.endsWith("code/__torch__/ibot4j.py"));
        }
        CliTest.Result unknown = CliTest.run("export", "--checkpoint", checkpoint.toString(), "--format", "tflite", "--output", module.toString());
        assertThat(unknown.err()).contains("--format tflite: unknown (pth, safetensors, torchscript or onnx)");
    }
}
