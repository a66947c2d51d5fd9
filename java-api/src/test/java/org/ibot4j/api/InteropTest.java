package org.ibot4j.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.ibot4j.api.io.NamedTensor;
import org.ibot4j.api.io.PthReader;
import org.ibot4j.api.io.SafeTensors;
import org.ibot4j.api.io.SafeTensorsWriter;
import org.ibot4j.api.io.WeightExchange;
import org.junit.jupiter.api.Test;

class InteropTest {
    /** Left for tools/reference/check_export.py, which loads the exports into timm and compares features. */
    static final Path INTEROP_DIR = Path.of(System.getProperty("ibot4j.root", ".."), "java-api", "target", "interop");

    @Test
    void importsTheOfficialCheckpointLayoutWrittenByTorchSave() throws IOException {
        Path official = ParityTest.fixture("official_defaults").resolveSibling("official_defaults.pth");
        Map<String, PthReader.FloatTensor> named = WeightExchange.toIbot4jNames(WeightExchange.read(official));
        IbotConfig config = WeightExchange.inferConfig(named, 4).normLastLayer(true).dropPathRate(0).numThreads(2).build();
        assertThat(config.embedDim()).isEqualTo(64);
        assertThat(config.depth()).isEqualTo(2);
        assertThat(config.imgSize()).isEqualTo(32);
        assertThat(config.sharedHead()).isFalse();
        try (IbotModel model = IbotModel.create(config); SafeTensors expected = SafeTensors.open(ParityTest.fixture("defaults"))) {
            WeightExchange.ImportReport report = WeightExchange.apply(model, named);
            assertThat(report.missing()).isEmpty();
            assertThat(report.unknown()).isEmpty();
            assertThat(report.aliases()).containsExactlyInAnyOrder("teacher.head.last_layer2.weight_g", "teacher.head.last_layer2.weight_v");
            for (String name : model.tensorNames()) {
                String source = name.equals("loss.center") ? "input.center" : name.equals("loss.center2") ? "input.center2" : name;
                assertThat(model.readTensor(name)).as(name).containsExactly(expected.floats(source));
            }
        }
    }

    @Test
    void exportsTimmNamedBackbonesThatImportBackExactly() throws IOException {
        IbotConfig config = TinyModels.config(31);
        Files.createDirectories(INTEROP_DIR);
        try (Arena arena = Arena.ofConfined(); IbotModel model = IbotModel.create(config)) {
            TrainBatch batch = TinyModels.fixedBatch(arena, config);
            for (int i = 0; i < 2; i++) model.trainStep(batch, TinyModels.params(0.9));
            Path pth = INTEROP_DIR.resolve("teacher.pth"), st = INTEROP_DIR.resolve("teacher.safetensors");
            WeightExchange.export(model, Network.TEACHER, WeightExchange.Format.PTH, pth);
            WeightExchange.export(model, Network.TEACHER, WeightExchange.Format.SAFETENSORS, st);

            List<NamedTensor> backbone = WeightExchange.backbone(model, Network.TEACHER);
            assertThat(backbone).extracting(NamedTensor::name)
                    .contains("cls_token", "pos_embed", "patch_embed.proj.weight", "blocks.1.attn.qkv.weight", "norm.bias")
                    .doesNotContain("masked_embed");
            for (Path file : List.of(pth, st)) {
                Map<String, PthReader.FloatTensor> read = WeightExchange.read(file);
                assertThat(read.keySet()).containsExactlyElementsOf(backbone.stream().map(NamedTensor::name).toList());
                for (NamedTensor t : backbone) {
                    assertThat(read.get(t.name()).shape()).containsExactly(t.shape());
                    assertThat(read.get(t.name()).data()).containsExactly(t.data());
                }
            }

            // Features of these images, for the timm comparison in tools/reference/check_export.py.
            int n = 8;
            MemorySegment images = batch.globalCrops().asSlice(0, (long) n * 3 * 32 * 32 * Float.BYTES);
            float[][] cls = model.embedCls(Network.TEACHER, images, n, 32, 32);
            float[] flat = new float[n * config.embedDim()];
            for (int i = 0; i < n; i++) System.arraycopy(cls[i], 0, flat, i * config.embedDim(), config.embedDim());
            SafeTensorsWriter.write(INTEROP_DIR.resolve("check.safetensors"), List.of(
                    new NamedTensor("images", new long[] {n, 3, 32, 32}, images.toArray(ValueLayout.JAVA_FLOAT)),
                    new NamedTensor("teacher_cls", new long[] {n, config.embedDim()}, flat)),
                    Map.of("config", config.toJson().toString()));

            // A backbone-only file seeds both networks of a fresh model; heads stay as initialised.
            try (IbotModel fresh = IbotModel.create(config.toBuilder().seed(77).build())) {
                WeightExchange.ImportReport report = WeightExchange.apply(fresh, WeightExchange.toIbot4jNames(WeightExchange.read(pth)));
                assertThat(report.unknown()).isEmpty();
                assertThat(report.missing()).contains("student.backbone.masked_embed", "student.head.mlp.0.weight", "teacher.head.last_layer.weight_v")
                        .noneMatch(name -> name.startsWith("teacher.backbone."));
                assertThat(fresh.embedCls(Network.TEACHER, images, n, 32, 32)).isDeepEqualTo(cls);
                assertThat(fresh.embedCls(Network.STUDENT, images, n, 32, 32)).isDeepEqualTo(cls);
            }
        }
    }
}
