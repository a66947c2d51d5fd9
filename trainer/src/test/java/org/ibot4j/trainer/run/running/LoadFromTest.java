package org.ibot4j.trainer.run.running;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.ibot4j.api.IbotModel;
import org.ibot4j.api.Network;
import org.ibot4j.api.io.PthReader;
import org.ibot4j.api.io.WeightExchange;
import org.ibot4j.trainer.run.PretrainOptions;
import org.ibot4j.trainer.run.PretrainSetup;
import org.ibot4j.trainer.run.checkpoints.CheckpointStore;
import org.ibot4j.trainer.run.checkpoints.InitialWeights;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code --load_from}: a new run from an official iBOT checkpoint, a backbone-only file or another ibot4j run. */
class LoadFromTest {
    /** torch.save of the official layout (tools/reference/make_official_checkpoint.py), shared with the java-api import tests. */
    static final Path OFFICIAL = Path.of(System.getProperty("ibot4j.root", ".."), "java-api", "src", "test", "resources", "fixtures",
            "official_defaults.pth");

    /** The fixture's architecture (dim 64, depth 2, 4 heads, patch 4 at 32 px, heads 128/32/256, the official head sharing). */
    static Map<String, Object> officialArchitecture() {
        return Map.ofEntries(Map.entry("embed_dim", 64), Map.entry("depth", 2), Map.entry("num_heads", 4), Map.entry("patch_size", 4),
                Map.entry("out_dim", 256), Map.entry("patch_out_dim", 256), Map.entry("head_hidden_dim", 128), Map.entry("head_bottleneck_dim", 32),
                Map.entry("shared_head", false), Map.entry("shared_head_teacher", true), Map.entry("norm_last_layer", true));
    }

    @Test
    void anOfficialCheckpointStartsANewRunThatTrainsWithTheKnnMonitor(@TempDir Path dir) throws IOException {
        Map<String, Object> extra = new HashMap<>(officialArchitecture());
        extra.putAll(Map.of("load_from", OFFICIAL.toString(), "max_steps", 10, "saveckp_iters", 10, "knn_every", 1, "knn_train", 200,
                "knn_test", 100));
        PretrainOptions options = PretrainerTest.tiny(dir, extra);

        // Every tensor of the new model, heads and centres included, comes from the file.
        Map<String, PthReader.FloatTensor> file = WeightExchange.toIbot4jNames(WeightExchange.read(OFFICIAL));
        int tensors;
        try (IbotModel model = IbotModel.create(PretrainSetup.of(options, 32, new int[] {28, 28}).model())) {
            InitialWeights.Loaded loaded = InitialWeights.apply(model, OFFICIAL);
            assertThat(loaded.kind()).isEqualTo("official iBOT checkpoint");
            assertThat(loaded.fresh()).isEmpty();
            for (String name : model.tensorNames()) assertThat(model.readTensor(name)).as(name).containsExactly(file.get(name).data());
            tensors = model.tensorNames().size();
            assertThat(loaded.loaded()).isEqualTo(tensors);
        }
        // The same file converted first (what 'ibot4j import' writes) gives the same weights.
        Path imported = dir.resolve("imported.ibot4j");
        try (IbotModel converted = IbotModel.create(WeightExchange.inferConfig(file, 4).normLastLayer(true).numThreads(2).build())) {
            WeightExchange.apply(converted, file);
            CheckpointStore.saveAtomically(converted, imported, "{\"imported_from\": \"official_defaults.pth\"}");
        }
        try (IbotModel model = IbotModel.create(PretrainSetup.of(options, 32, new int[] {28, 28}).model())) {
            InitialWeights.Loaded loaded = InitialWeights.apply(model, imported);
            assertThat(loaded.kind()).isEqualTo("ibot4j checkpoint");
            assertThat(loaded.fresh()).isEmpty();
            for (String name : model.tensorNames()) assertThat(model.readTensor(name)).as(name).containsExactly(file.get(name).data());
        }

        ByteArrayOutputStream text = new ByteArrayOutputStream();
        Pretraining.Result run = PretrainerTest.run(options, new PrintStream(text, true, StandardCharsets.UTF_8));
        String printed = text.toString(StandardCharsets.UTF_8);
        assertThat(printed).contains("load_from: " + tensors + " tensors from " + OFFICIAL + " (official iBOT checkpoint)")
                .doesNotContain("fresh");
        assertThat(run.iteration()).isEqualTo(10);
        // A new schedule from step 0: the linear lr warm-up starts at 0 again.
        assertThat(PretrainerTest.column(dir.resolve("metrics.csv"), "iteration")).hasSize(10).startsWith("0");
        assertThat(Double.parseDouble(PretrainerTest.column(dir.resolve("metrics.csv"), "lr").get(0))).isZero();
        // The monitor measured the starting weights (iteration 0), then ran after epochs 1 and 2 (4 steps each), and logged all three;
        // a random-initialised ViT is already well above chance (10 %).
        assertThat(run.knn()).extracting(Pretraining.Knn::iteration).containsExactly(0L, 4L, 8L);
        assertThat(run.knn()).allSatisfy(k -> assertThat(k.accuracy().top1()).isBetween(20.0, 100.0));
        assertThat(Files.readAllLines(dir.resolve("knn.jsonl"))).hasSize(3);
        JsonNode stored = PretrainerTest.JSON.readTree(IbotModel.readMetadata(run.checkpoint()));
        assertThat(stored.at("/options/load_from").asText()).isEqualTo(OFFICIAL.toString());
        assertThat(stored.get("iteration").asLong()).isEqualTo(10);
    }

    @Test
    void aBackboneOnlyFileGetsFreshHeadsAndSaysWhich(@TempDir Path dir) throws IOException {
        Pretraining.Result source = PretrainerTest.run(PretrainerTest.tiny(dir.resolve("a"), Map.of("max_steps", 2)), PretrainerTest.QUIET);
        Path backbone = dir.resolve("teacher.pth");
        try (IbotModel trained = IbotModel.open(source.checkpoint(), 2)) {
            WeightExchange.export(trained, Network.TEACHER, WeightExchange.Format.PTH, backbone);
        }
        PretrainOptions options = PretrainerTest.tiny(dir.resolve("b"), Map.of("load_from", backbone.toString(), "max_steps", 1));
        try (IbotModel trained = IbotModel.open(source.checkpoint(), 2);
                IbotModel model = IbotModel.create(PretrainSetup.of(options, 32, new int[] {28, 28}).model())) {
            InitialWeights.Loaded loaded = InitialWeights.apply(model, backbone);
            assertThat(loaded.kind()).isEqualTo("backbone-only file");
            assertThat(loaded.fresh()).containsExactlyInAnyOrder("student mask token", "student head", "teacher head", "center",
                    "center2 (patch centre)");
            // The teacher's backbone seeds both networks.
            for (String name : model.tensorNames()) {
                if (!name.startsWith("teacher.backbone.")) continue;
                assertThat(model.readTensor(name)).as(name).containsExactly(trained.readTensor(name));
                assertThat(model.readTensor(name.replace("teacher.", "student."))).as(name).containsExactly(trained.readTensor(name));
            }
        }
        ByteArrayOutputStream text = new ByteArrayOutputStream();
        PretrainerTest.run(options, new PrintStream(text, true, StandardCharsets.UTF_8));
        assertThat(text.toString(StandardCharsets.UTF_8)).contains("(backbone-only file)")
                .containsPattern("fresh \\(not in the file, initialised as a new run\\): .*student head, teacher head, center, center2");
    }

    @Test
    void anotherRunsFolderGivesAllItsWeightsAndAMismatchNamesEveryField(@TempDir Path dir) throws IOException {
        Pretraining.Result source = PretrainerTest.run(PretrainerTest.tiny(dir.resolve("a"), Map.of("max_steps", 2)), PretrainerTest.QUIET);
        PretrainOptions options = PretrainerTest.tiny(dir.resolve("b"), Map.of("load_from", dir.resolve("a").toString(), "max_steps", 1));
        try (IbotModel trained = IbotModel.open(source.checkpoint(), 2);
                IbotModel model = IbotModel.create(PretrainSetup.of(options, 32, new int[] {28, 28}).model())) {
            InitialWeights.Loaded loaded = InitialWeights.apply(model, dir.resolve("a"));
            assertThat(loaded.source()).isEqualTo(source.checkpoint());
            assertThat(loaded.fresh()).isEmpty();
            for (String name : model.tensorNames()) assertThat(model.readTensor(name)).as(name).containsExactly(trained.readTensor(name));
        }
        Pretraining.Result run = PretrainerTest.run(options, PretrainerTest.QUIET);
        assertThat(run.iteration()).isEqualTo(1);
        assertThat(PretrainerTest.column(dir.resolve("b/metrics.csv"), "iteration")).containsExactly("0");

        assertThatThrownBy(() -> PretrainerTest.run(PretrainerTest.tiny(dir.resolve("c"), Map.of("load_from", dir.resolve("a").toString(),
                "depth", 2, "out_dim", 128, "max_steps", 1)), PretrainerTest.QUIET))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("the architecture differs")
                .hasMessageContaining("depth: 1 in the file, 2 in this run")
                .hasMessageContaining("out_dim: 64 in the file, 128 in this run (--out_dim)")
                .hasMessageNotContaining("embed_dim");
        assertThatThrownBy(() -> PretrainerTest.run(PretrainerTest.tiny(dir.resolve("d"), Map.of("load_from", OFFICIAL.toString(),
                "max_steps", 1)), PretrainerTest.QUIET))
                .hasMessageContaining("embed_dim: 64 in the file, 32 in this run").hasMessageContaining("shared_head: false in the file, true");
    }
}
