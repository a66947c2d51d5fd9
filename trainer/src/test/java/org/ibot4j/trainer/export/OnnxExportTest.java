package org.ibot4j.trainer.export;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.ibot4j.api.Encoder;
import org.ibot4j.api.IbotConfig;
import org.ibot4j.api.IbotModel;
import org.ibot4j.api.Network;
import org.ibot4j.api.image.Pixels;
import org.ibot4j.api.io.NamedTensor;
import org.ibot4j.api.io.WeightExchange;
import org.ibot4j.trainer.cli.Ibot4jCli;
import org.ibot4j.trainer.data.IdxDataset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The ONNX export runs in ONNX Runtime's Java API (the consumer a JVM serving stack uses) and gives the
 * Encoder's features on the same real images: a tiny ViT (dim 64, depth 2, 4 heads, patch 4, 32 px,
 * qkv bias) with its random initial weights, Fashion-MNIST test images, batches of 6 and 2 (the batch axis
 * is dynamic). Tolerance 1e-5 absolute (fp32): the graph does the same arithmetic in another order
 * (ONNX Runtime's kernels and fusions instead of LibTorch's).
 */
class OnnxExportTest {
    static final Path FASHION_MNIST = Path.of(System.getenv().getOrDefault("IBOT4J_FASHION_MNIST", "/usr/share/datasets/fashion-mnist"));

    static IbotConfig tiny() {
        return IbotConfig.builder().imgSize(32).patchSize(4).inChans(3).embedDim(64).depth(2).numHeads(4).outDim(128).patchOutDim(128)
                .hiddenDim(128).bottleneckDim(32).seed(5).numThreads(2).build();
    }

    /** Fashion-MNIST test images as RGB pixel planes in [0, 1] (grey in every channel). */
    static List<Pixels> images(int count) throws IOException {
        IdxDataset data = IdxDataset.read(FASHION_MNIST, "t10k");
        List<Pixels> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            float[] grey = new float[data.rows() * data.cols()];
            for (int p = 0; p < grey.length; p++) grey[p] = (data.images()[i][p] & 0xff) / 255f;
            out.add(new Pixels(data.cols(), data.rows(), new float[][] {grey, grey.clone(), grey.clone()}));
        }
        return out;
    }

    @Test
    void onnxRuntimeJavaGivesTheEncodersFeatures(@TempDir Path dir) throws Exception {
        Path checkpoint = dir.resolve("model.ibot4j"), onnx = dir.resolve("encoder.onnx");
        try (IbotModel model = IbotModel.create(tiny())) {
            model.save(checkpoint, "{}");
        }
        OnnxExport.export(checkpoint, Network.TEACHER, 2, onnx);
        List<Pixels> images = images(6);
        float[][] expected;
        float[] input;
        try (Encoder encoder = Encoder.open(checkpoint, Encoder.Options.defaults().threads(2)); Arena arena = Arena.ofConfined()) {
            expected = encoder.embedPixels(images);
            long per = encoder.transform().floatsPerImage();
            MemorySegment x = arena.allocate(ValueLayout.JAVA_FLOAT, per * images.size());
            for (int i = 0; i < images.size(); i++) encoder.transform().write(images.get(i), x, i * per);
            input = x.toArray(ValueLayout.JAVA_FLOAT);
        }
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession session = env.createSession(onnx.toString(), new OrtSession.SessionOptions())) {
            assertThat(session.getInputNames()).containsExactly("images");
            assertThat(session.getOutputNames()).containsExactly("features");
            assertThat(session.getMetadata().getCustomMetadata()).containsKeys("ibot4j.mean", "ibot4j.std", "ibot4j.network");
            double worst = maxDiff(run(env, session, input, 6), expected, 0);
            // A second batch size through the same session: the batch axis is dynamic.
            float[] two = Arrays.copyOfRange(input, 3 * 3 * 32 * 32, 5 * 3 * 32 * 32);
            worst = Math.max(worst, maxDiff(run(env, session, two, 2), expected, 3));
            System.out.printf("ONNX Runtime (Java) vs Encoder, 6 + 2 Fashion-MNIST images: max |diff| %.3g%n", worst);
            assertThat(worst).isLessThanOrEqualTo(1e-5);
        }
    }

    private static float[][] run(OrtEnvironment env, OrtSession session, float[] images, int n) throws Exception {
        try (OnnxTensor x = OnnxTensor.createTensor(env, FloatBuffer.wrap(images), new long[] {n, 3, 32, 32});
                OrtSession.Result r = session.run(Map.of("images", x))) {
            return (float[][]) r.get(0).getValue();
        }
    }

    private static double maxDiff(float[][] got, float[][] expected, int from) {
        double worst = 0;
        for (int i = 0; i < got.length; i++) {
            assertThat(got[i]).hasSize(expected[from + i].length);
            for (int j = 0; j < got[i].length; j++) worst = Math.max(worst, Math.abs(got[i][j] - expected[from + i][j]));
        }
        return worst;
    }

    @Test
    void aBackboneTheExporterCannotExpressIsRefusedAndNothingIsWritten(@TempDir Path dir) throws IOException {
        Path out = dir.resolve("encoder.onnx");
        try (IbotModel model = IbotModel.create(tiny())) {
            List<NamedTensor> tensors = new ArrayList<>(WeightExchange.backbone(model, Network.TEACHER));
            // What a DINOv2 backbone with register tokens would bring.
            tensors.add(new NamedTensor("register_tokens", new long[] {1, 4, 64}, new float[4 * 64]));
            assertThatThrownBy(() -> OnnxExport.write(model.config(), tensors, Map.of(), out)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("cannot express this backbone").hasMessageContaining("register_tokens");
        }
        assertThat(out).doesNotExist();
        try (var files = Files.list(dir)) {
            assertThat(files.toList()).isEmpty();
        }
    }

    @Test
    void anOutputThatIsAFolderIsRefusedWithASentence(@TempDir Path dir) throws IOException {
        Path checkpoint = dir.resolve("model.ibot4j"), folder = Files.createDirectories(dir.resolve("encoder.onnx"));
        try (IbotModel model = IbotModel.create(tiny())) {
            model.save(checkpoint, "{}");
        }
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Ibot4jCli.execute(new String[] {"export", "--checkpoint", checkpoint.toString(), "--format", "onnx", "--output", folder.toString()},
                new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        assertThat(code).isEqualTo(1);
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("is a folder");
        try (var files = Files.list(folder)) {
            assertThat(files.toList()).isEmpty();
        }
    }
}
