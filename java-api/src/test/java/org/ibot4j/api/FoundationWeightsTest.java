package org.ibot4j.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import org.ibot4j.api.io.NamedTensor;
import org.ibot4j.api.io.PthReader;
import org.ibot4j.api.io.PthWriter;
import org.ibot4j.api.io.SafeTensors;
import org.ibot4j.api.io.SafeTensorsWriter;
import org.ibot4j.api.io.WeightExchange;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * DINOv2 and DINOv3 weights in the layouts users hold (tools/reference/make_foundation_layouts.py writes them from
 * random-weight timm models): timm's state dicts as safetensors and .pth, and Meta's hub names (DINOv2 with and
 * without registers, DINOv3 with its bf16 RoPE periods). {@link Encoder#open} infers the family and sizes from the
 * names and shapes and must reproduce timm's tokens for those weights (1e-5 of the output's scale). Files of the
 * wrong family or size, or with a tensor missing, are refused with a sentence naming what differs.
 */
class FoundationWeightsTest {
    private static final double TOL = 1e-5;
    private static final Path DIR = ParityTest.fixture("x").getParent().resolve("layouts");

    @ParameterizedTest
    @ValueSource(strings = {"timm_dinov2_reg4.safetensors", "timm_dinov3.pth", "meta_dinov2.pth", "meta_dinov2_reg4.pth", "meta_dinov3_qkvb.pth"})
    void everyLayoutOpensAsItsArchitectureAndMatchesTimm(String file) throws IOException {
        try (SafeTensors expected = SafeTensors.open(DIR.resolve("expected.safetensors")); Arena arena = Arena.ofConfined()) {
            JsonNode m = new ObjectMapper().readTree(expected.metadata().get(file));
            Arch arch = Arch.of(m.get("arch").asText());
            // Heads are not in a file's shapes (Meta's DINOv3 periods tell them): the other files are given them.
            Encoder.Options options = Encoder.Options.defaults().threads(2).numHeads(m.get("heads_in_file").asBoolean() ? 0 : m.get("num_heads").asInt());
            try (Encoder encoder = Encoder.open(DIR.resolve(file), options)) {
                IbotConfig c = encoder.config();
                assertThat(c.family()).isEqualTo(arch.family());
                assertThat(c.numRegisterTokens()).isEqualTo(arch.numRegisterTokens());
                assertThat(c.swiglu()).isEqualTo(arch.swiglu());
                assertThat(c.qkvBias()).isEqualTo(arch.qkvBias());
                assertThat(c.patchSize()).isEqualTo(arch.patchSize());
                assertThat(c.numHeads()).isEqualTo(m.get("num_heads").asInt());
                matchesExpected(encoder, expected, file, file, arena);
            }
        }
    }

    /**
     * A DINOv2 / DINOv3 training checkpoint as Meta's trainers write it ({"student": ..., "teacher": ...} with
     * {@code backbone.*} in Meta's names beside the heads): made here from the Meta-named fixture, its teacher must
     * open as the hub file does, to the bit, and its heads are not the backbone's business.
     */
    @ParameterizedTest
    @ValueSource(strings = {"meta_dinov2_reg4.pth", "meta_dinov3_qkvb.pth"})
    void metaTrainingCheckpointsOpenTheirTeacherBackbone(String file, @TempDir Path tmp) throws IOException {
        List<NamedTensor> tensors = new ArrayList<>();
        for (Map.Entry<String, PthReader.FloatTensor> e : WeightExchange.read(DIR.resolve(file)).entrySet()) {
            for (String net : List.of("student", "teacher")) {
                tensors.add(new NamedTensor(net + ".backbone." + e.getKey(), e.getValue().shape(), e.getValue().data()));
            }
        }
        tensors.add(new NamedTensor("teacher.dino_head.mlp.0.weight", new long[] {4, 2}, new float[8]));
        tensors.add(new NamedTensor("student.ibot_head.last_layer.weight", new long[] {4, 2}, new float[8]));
        Path training = tmp.resolve("teacher_checkpoint.pth");
        PthWriter.write(training, tensors);
        Encoder.Options options = Encoder.Options.defaults().threads(2).numHeads(2);
        try (Encoder hub = Encoder.open(DIR.resolve(file), options); Encoder trained = Encoder.open(training, options);
                Arena arena = Arena.ofConfined()) {
            assertThat(trained.config()).isEqualTo(hub.config());
            int size = 4 * hub.config().patchSize(), d = hub.dim();
            float[] images = new float[2 * 3 * size * size];
            Random random = new Random(5);
            for (int i = 0; i < images.length; i++) images[i] = (float) random.nextGaussian();
            MemorySegment input = arena.allocateFrom(ValueLayout.JAVA_FLOAT, images);
            MemorySegment a = arena.allocate(ValueLayout.JAVA_FLOAT, 2L * d), b = arena.allocate(ValueLayout.JAVA_FLOAT, 2L * d);
            hub.forward(input, 2, size, size, a, MemorySegment.NULL);
            trained.forward(input, 2, size, size, b, MemorySegment.NULL);
            assertThat(b.toArray(ValueLayout.JAVA_FLOAT)).containsExactly(a.toArray(ValueLayout.JAVA_FLOAT));
        }
    }

    /**
     * Hugging Face transformers' files (tools/reference/make_transformers_layouts.py, random-weight transformers 5.18
     * models): transformers 5's names and the hub's transformers 4 names (.legacy) of the same weights must open
     * as their family and reproduce transformers' own last_hidden_state (registers left out).
     */
    @ParameterizedTest
    @ValueSource(strings = {"hf_dinov2.safetensors", "hf_dinov2.legacy.safetensors", "hf_dinov2_swiglu.safetensors", "hf_dinov2_swiglu.legacy.safetensors",
        "hf_dinov2_reg4.safetensors", "hf_dinov3.safetensors",
        "hf_dinov3.legacy.safetensors", "hf_dinov3_swiglu.safetensors"})
    void transformersFilesOpenAsTheirFamilyAndMatchTransformers(String file) throws IOException {
        String model = file.substring(0, file.indexOf('.'));
        try (SafeTensors expected = SafeTensors.open(DIR.resolve("expected_transformers.safetensors")); Arena arena = Arena.ofConfined();
                Encoder encoder = Encoder.open(DIR.resolve(file), Encoder.Options.defaults().threads(2).numHeads(2))) {
            JsonNode m = new ObjectMapper().readTree(expected.metadata().get(model));
            IbotConfig c = encoder.config();
            assertThat(c.family()).isEqualTo(Family.of(m.get("family").asText()));
            assertThat(c.numRegisterTokens()).isEqualTo(m.get("registers").asInt());
            assertThat(c.swiglu()).isEqualTo(m.get("swiglu").asBoolean());
            matchesExpected(encoder, expected, model, file, arena);
        }
    }

    /** The encoder's CLS and patch tokens of the fixture's images {@code key.images} against {@code key.cls} / {@code key.patches}. */
    private static void matchesExpected(Encoder encoder, SafeTensors expected, String key, String file, Arena arena) throws IOException {
        IbotConfig c = encoder.config();
        SafeTensors.Entry images = expected.entry(key + ".images");
        int n = (int) images.shape()[0], size = (int) images.shape()[2], d = c.embedDim();
        int patches = (size / c.patchSize()) * (size / c.patchSize());
        MemorySegment cls = arena.allocate(ValueLayout.JAVA_FLOAT, (long) n * d);
        MemorySegment patch = arena.allocate(ValueLayout.JAVA_FLOAT, (long) n * patches * d);
        encoder.forward(images.data(), n, size, size, cls, patch);
        check(file, "CLS", cls.toArray(ValueLayout.JAVA_FLOAT), expected.floats(key + ".cls"));
        check(file, "patches", patch.toArray(ValueLayout.JAVA_FLOAT), expected.floats(key + ".patches"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"timm_dinov2_reg4.safetensors", "timm_dinov3.pth", "meta_dinov2.pth", "meta_dinov3_qkvb.pth"})
    void theTorchScriptModuleComputesTheEncodersClsFeatures(String file, @TempDir Path tmp) throws IOException {
        try (Encoder encoder = Encoder.open(DIR.resolve(file), Encoder.Options.defaults().threads(2).numHeads(2)); Arena arena = Arena.ofConfined()) {
            Path module = tmp.resolve("module.pt");
            encoder.exportTorchScript(module);
            int p = encoder.config().patchSize();
            // The model's own grid and a non-square other one (positions resized, RoPE on that grid).
            for (int[] hw : new int[][] {{4 * p, 4 * p}, {3 * p, 5 * p}}) {
                int h = hw[0], w = hw[1], d = encoder.dim();
                float[] images = new float[2 * 3 * h * w];
                Random random = new Random(h * 31L + w);
                for (int i = 0; i < images.length; i++) images[i] = (float) random.nextGaussian();
                MemorySegment cls = arena.allocate(ValueLayout.JAVA_FLOAT, 2L * d);
                encoder.forward(arena.allocateFrom(ValueLayout.JAVA_FLOAT, images), 2, h, w, cls, MemorySegment.NULL);
                float[][] scripted = Encoder.runTorchScript(module, images, 2, h, w);
                float[] flat = new float[2 * d];
                for (int i = 0; i < 2; i++) System.arraycopy(scripted[i], 0, flat, i * d, d);
                check(file, "script " + h + "x" + w, flat, cls.toArray(ValueLayout.JAVA_FLOAT));
            }
        }
    }

    @Test
    void aNamedArchitectureOfAnotherSizeIsRefusedWithBothShapes() {
        // The published width (384) against the file's 32: refused before any forward pass.
        assertThatThrownBy(() -> Encoder.open(DIR.resolve("meta_dinov3_qkvb.pth"), Encoder.Options.defaults().threads(2).arch("vit_small_patch16_dinov3_qkvb")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("does not hold a vit_small_patch16_dinov3_qkvb backbone")
                .hasMessageContaining("embed_dim 384, depth 12").hasMessageContaining("the file's is embed_dim 32, depth 2");
    }

    @Test
    void theWrongFamilyIsRefusedNamingTheTensorsThatDiffer() {
        assertThatThrownBy(() -> Encoder.open(DIR.resolve("meta_dinov2_reg4.pth"), Encoder.Options.defaults().arch("vit_small_patch16_dinov3")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("does not hold a vit_small_patch16_dinov3 backbone")
                .hasMessageContaining("the file lacks blocks.0.gamma_1")
                .hasMessageContaining("the architecture has no pos_embed");
    }

    @Test
    void aMissingTensorIsRefusedByName(@TempDir Path tmp) throws IOException {
        Map<String, PthReader.FloatTensor> file = new LinkedHashMap<>(WeightExchange.read(DIR.resolve("timm_dinov3.pth")));
        file.remove("blocks.1.mlp.fc2.weight");
        Path damaged = tmp.resolve("damaged.safetensors");
        SafeTensorsWriter.write(damaged, file.entrySet().stream()
                .map(e -> new NamedTensor(e.getKey(), e.getValue().shape(), e.getValue().data())).toList(), Map.of());
        assertThatThrownBy(() -> Encoder.open(damaged, Encoder.Options.defaults().numHeads(2)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("the file lacks blocks.1.mlp.fc2.weight");
    }

    @Test
    void imagesThePatchDoesNotDivideAreRefused() throws IOException {
        try (Encoder encoder = Encoder.open(DIR.resolve("timm_dinov3.pth"), Encoder.Options.defaults().threads(2).numHeads(2));
             Arena arena = Arena.ofConfined()) {
            MemorySegment images = arena.allocate(ValueLayout.JAVA_FLOAT, 3L * 40 * 64);
            MemorySegment cls = arena.allocate(ValueLayout.JAVA_FLOAT, encoder.dim());
            assertThatThrownBy(() -> encoder.forward(images, 1, 40, 64, cls, MemorySegment.NULL))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("16-pixel patches");
        }
        assertThatThrownBy(() -> IbotConfig.builder().arch("vit_small_patch16_dinov3").embedDim(40).numHeads(4).build())
                .isInstanceOf(InvalidConfigException.class).hasMessageContaining("multiple of 4");
    }

    private static void check(String file, String what, float[] actual, float[] expected) {
        double e = ParityTest.error(actual, expected);
        System.out.println(String.format(Locale.ROOT, "layout %-30s %-8s %.2e", file, what, e));
        assertThat(e).as("%s: %s relative error", file, what).isLessThanOrEqualTo(TOL);
    }
}
