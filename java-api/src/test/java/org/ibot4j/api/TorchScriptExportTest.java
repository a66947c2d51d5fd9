package org.ibot4j.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipFile;
import org.ibot4j.api.io.NamedTensor;
import org.ibot4j.api.io.SafeTensorsWriter;
import org.ibot4j.api.io.WeightExchange;
import org.junit.jupiter.api.Test;

/**
 * The TorchScript export is a LibTorch module file; tools/reference/check_torchscript.py loads what this
 * test leaves in java-api/target/interop/torchscript with torch.jit.load and compares it with timm (at
 * the training size) and with the Encoder features written here (at 48 px, positions interpolated).
 */
class TorchScriptExportTest {
    static final Path DIR = InteropTest.INTEROP_DIR.resolve("torchscript");

    @Test
    void writesATorchScriptModuleWithTheFeaturesItMustReproduce() throws IOException {
        Files.createDirectories(DIR);
        IbotConfig config = TinyModels.config(17);
        Path checkpoint = DIR.resolve("model.ibot4j");
        int n = 6;
        float[] images = FashionMnistSample.images(0, n), other = FashionMnistSample.images(n, n);
        try (Arena arena = Arena.ofConfined(); IbotModel model = IbotModel.create(config)) {
            TrainBatch batch = TinyModels.fixedBatch(arena, config);
            for (int i = 0; i < 2; i++) model.trainStep(batch, TinyModels.params(0.9));
            model.save(checkpoint, "{}");
            WeightExchange.export(model, Network.TEACHER, WeightExchange.Format.PTH, DIR.resolve("teacher.pth"));
        }
        float[] otherSize = upscale(other, n, 32, 48);
        float[] encoderOther;
        try (Encoder encoder = Encoder.open(checkpoint, Encoder.Options.defaults().threads(2)); Arena arena = Arena.ofConfined()) {
            encoder.exportTorchScript(DIR.resolve("backbone.pt"));
            MemorySegment x = arena.allocateFrom(ValueLayout.JAVA_FLOAT, otherSize), out = arena.allocate(ValueLayout.JAVA_FLOAT, n * 64);
            encoder.forward(x, n, 48, 48, out, MemorySegment.NULL);
            encoderOther = out.toArray(ValueLayout.JAVA_FLOAT);
            // A file where the folder should be: refused in words, nothing half-written.
            assertThatThrownBy(() -> encoder.exportTorchScript(DIR.resolve("teacher.pth/backbone.pt"))).isInstanceOf(IOException.class);
        }
        SafeTensorsWriter.write(DIR.resolve("check.safetensors"), List.of(
                new NamedTensor("images", new long[] {n, 3, 32, 32}, images),
                new NamedTensor("images_other", new long[] {n, 3, 48, 48}, otherSize),
                new NamedTensor("encoder_other", new long[] {n, 64}, encoderOther)), Map.of("config", config.toJson().toString()));
        // Loaded back by LibTorch's torch::jit::load, as a C++ or DJL program would: the features the
        // Encoder computes, at the training size and at 48 px (positions interpolated). Tolerance 1e-5 of the
        // largest feature: the module runs the same ATen ops, but as TorchScript graph ops (other fusion,
        // other rounding order); the Python check (tools/reference/check_torchscript.py) measured 2e-7.
        float[] encoderSame;
        try (Encoder encoder = Encoder.open(checkpoint, Encoder.Options.defaults().threads(2)); Arena arena = Arena.ofConfined()) {
            MemorySegment x = arena.allocateFrom(ValueLayout.JAVA_FLOAT, images), out = arena.allocate(ValueLayout.JAVA_FLOAT, n * 64);
            encoder.forward(x, n, 32, 32, out, MemorySegment.NULL);
            encoderSame = out.toArray(ValueLayout.JAVA_FLOAT);
        }
        assertClose(Encoder.runTorchScript(DIR.resolve("backbone.pt"), images, n, 32, 32), encoderSame, n);
        assertClose(Encoder.runTorchScript(DIR.resolve("backbone.pt"), otherSize, n, 48, 48), encoderOther, n);
        try (ZipFile zip = new ZipFile(DIR.resolve("backbone.pt").toFile())) {
            // LibTorch's module layout: code, constants, data, and ibot4j's description of what it holds.
            assertThat(zip.stream().map(e -> e.getName().substring(e.getName().indexOf('/') + 1)).toList())
                    .contains("data.pkl", "constants.pkl", "extra/ibot4j.txt", "code/__torch__/ibot4j.py");
        }
    }

    /** Nearest-neighbour upscale of CHW images: any real images at a size other than the training one. */
    static float[] upscale(float[] images, int n, int from, int to) {
        float[] out = new float[n * 3 * to * to];
        for (int i = 0; i < n * 3; i++) {
            for (int y = 0; y < to; y++) {
                for (int x = 0; x < to; x++) out[(i * to + y) * to + x] = images[(i * from + y * from / to) * from + x * from / to];
            }
        }
        return out;
    }

    private static void assertClose(float[][] module, float[] encoder, int n) {
        assertThat(module.length).isEqualTo(n);
        double largest = 0, worst = 0;
        for (float v : encoder) largest = Math.max(largest, Math.abs(v));
        for (int i = 0; i < n; i++) {
            assertThat(module[i]).hasSize(encoder.length / n);
            for (int j = 0; j < module[i].length; j++) worst = Math.max(worst, Math.abs(module[i][j] - encoder[i * module[i].length + j]));
        }
        System.out.printf("torch::jit::load'ed module vs Encoder: max |diff| %.3g of largest %.3g%n", worst, largest);
        assertThat(worst).isLessThanOrEqualTo(1e-5 * largest);
    }
}
