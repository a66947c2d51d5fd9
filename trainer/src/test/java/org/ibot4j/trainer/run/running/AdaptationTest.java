package org.ibot4j.trainer.run.running;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.ibot4j.api.Encoder;
import org.ibot4j.api.IbotModel;
import org.ibot4j.api.Network;
import org.ibot4j.api.io.PthReader;
import org.ibot4j.api.io.WeightExchange;
import org.ibot4j.trainer.data.Datasets;
import org.ibot4j.trainer.data.IdxDatasetTest;
import org.ibot4j.trainer.data.ImageSource;
import org.ibot4j.trainer.eval.KnnClassifier;
import org.ibot4j.trainer.eval.KnnEvaluation;
import org.ibot4j.trainer.run.PretrainOptions;
import org.ibot4j.trainer.run.PretrainSetup;
import org.ibot4j.trainer.run.checkpoints.InitialBackbone;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Adapting a foundation model (docs/adaptation.md) on a small DINOv3-style backbone: {@code --init_backbone} seeds
 * both backbones with new heads, and the run's k-NN before its first step is the file's own (through an
 * {@link Encoder} on the file); a file of another family is refused before anything is written; a head warm-up
 * ({@code --freeze_backbone_epochs}) keeps both backbones bit for bit while the heads move, and a run stopped in the
 * middle of it and resumed ends bit for bit where an uninterrupted one does, Gram anchoring included.
 */
class AdaptationTest {
    private static final String ARCH = "vit_small_patch16_dinov3";

    /** A tiny run of the DINOv3 layout: dim 32, one block, patch 8 on 32-px crops (16 patch tokens). */
    static PretrainOptions tiny(Path output, Map<String, Object> extra) {
        Map<String, Object> m = new HashMap<>(Map.of("arch", ARCH, "patch_size", 8));
        m.putAll(extra);
        return PretrainerTest.tiny(output, m);
    }

    /** The teacher backbone of a short run of {@code options}, exported as timm's safetensors: the "foundation" file. */
    static Path foundation(Path dir, PretrainOptions options) throws IOException {
        Pretraining.Result source = PretrainerTest.run(options, PretrainerTest.QUIET);
        Path file = dir.resolve("foundation.safetensors");
        try (IbotModel trained = IbotModel.open(source.checkpoint(), 2)) {
            WeightExchange.export(trained, Network.TEACHER, WeightExchange.Format.SAFETENSORS, file);
        }
        return file;
    }

    /** The small DINOv3-style foundation of these tests. */
    static Path foundation(Path dir) throws IOException {
        return foundation(dir, tiny(dir.resolve("source"), Map.of("max_steps", 3)));
    }

    /**
     * On the official ViT layout: DINOv3's LayerScale starts at 1e-5, so a few steps from scratch leave its [CLS]
     * nearly the same for every image and the k-NN at chance whatever the weights, which would prove nothing here.
     */
    @Test
    void initBackboneSeedsBothBackbonesAndStepZerosKnnIsTheFilesOwn(@TempDir Path dir) throws IOException {
        Path file = foundation(dir, PretrainerTest.tiny(dir.resolve("source"), Map.of("max_steps", 3)));
        PretrainOptions options = PretrainerTest.tiny(dir.resolve("adapted"), Map.of("init_backbone", file.toString(), "max_steps", 1, "knn_every", 1,
                "knn_train", 200, "knn_test", 100));
        PretrainSetup setup = PretrainSetup.of(options, 32, new int[] {28, 28});

        Map<String, PthReader.FloatTensor> tensors = WeightExchange.read(file);
        try (IbotModel model = IbotModel.create(setup.model())) {
            int written = InitialBackbone.read(file, setup.model(), "vit_tiny").applyTo(model);
            assertThat(written).isEqualTo(2 * tensors.size());
            for (Map.Entry<String, PthReader.FloatTensor> e : tensors.entrySet()) {
                assertThat(model.readTensor("student.backbone." + e.getKey())).as(e.getKey()).containsExactly(e.getValue().data());
                assertThat(model.readTensor("teacher.backbone." + e.getKey())).as(e.getKey()).containsExactly(e.getValue().data());
            }
        }

        ByteArrayOutputStream text = new ByteArrayOutputStream();
        Pretraining.Result run = PretrainerTest.run(options, new PrintStream(text, true, StandardCharsets.UTF_8));
        assertThat(text.toString(StandardCharsets.UTF_8)).contains("init_backbone: " + 2 * tensors.size() + " tensors from " + file
                + " (ibot backbone)");
        assertThat(run.knn()).isNotEmpty();
        Pretraining.Knn start = run.knn().getFirst();
        assertThat(start.iteration()).isZero();

        ImageSource memory = Datasets.head(Datasets.open(IdxDatasetTest.FASHION.toString(), Datasets.Split.TRAIN), 200);
        ImageSource queries = Datasets.head(Datasets.open(IdxDatasetTest.FASHION.toString(), Datasets.Split.TEST), 100);
        KnnClassifier.Accuracy own;
        try (Encoder encoder = Encoder.open(file, Encoder.Options.defaults().threads(2))) {
            own = KnnEvaluation.encoder(encoder, memory, queries, setup.augmentation(), setup.model().imgSize());
        }
        assertThat(start.accuracy().top1()).isEqualTo(own.top1());
        assertThat(start.accuracy().top5()).isEqualTo(own.top5());
        assertThat(own.top1()).isGreaterThan(20.0);  // a backbone, not chance (10 %)
        assertThat(Files.readAllLines(dir.resolve("adapted/knn.jsonl")).getFirst()).contains("\"iteration\":0");
    }

    @Test
    void aFileOfAnotherFamilyIsRefusedBeforeAnythingIsWritten(@TempDir Path dir) throws IOException {
        Path file = foundation(dir);
        Path output = dir.resolve("wrong");
        assertThatThrownBy(() -> PretrainerTest.run(PretrainerTest.tiny(output, Map.of("arch", "vit_small_patch14_dinov2", "patch_size", 8,
                "init_backbone", file.toString())), PretrainerTest.QUIET))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("--init_backbone " + file + " holds a dinov3 backbone, but --arch vit_small_patch14_dinov2 is a dinov2 one")
                .hasMessageContaining("vit_small_patch16_dinov3");
        assertThat(output).doesNotExist();
        assertThatThrownBy(() -> PretrainerTest.run(tiny(dir.resolve("deeper"), Map.of("depth", 2, "init_backbone", file.toString())),
                PretrainerTest.QUIET))
                .hasMessageContaining("depth: 1 in the file, 2 in this run");
        assertThat(dir.resolve("deeper")).doesNotExist();
        assertThatThrownBy(() -> PretrainerTest.run(tiny(dir.resolve("both"), Map.of("init_backbone", file.toString(), "load_from",
                file.toString())), PretrainerTest.QUIET))
                .hasMessageContaining("init_backbone and load_from both name starting weights");
    }

    /**
     * DINOv2's files carry positions for one size (timm's: 518 px); a run on other crops keeps them and interpolates,
     * as DINOv2 trains at 224 px: here positions for 32-px crops (4 x 4 patches of 8) and a run on 48-px crops.
     */
    @Test
    void learnedPositionsForAnotherSizeAreKeptAndInterpolated(@TempDir Path dir) throws IOException {
        Map<String, Object> dinov2 = Map.of("arch", "vit_small_patch14_dinov2", "patch_size", 8);
        Path file = foundation(dir, PretrainerTest.tiny(dir.resolve("source"), with(dinov2, "max_steps", 2)));
        Map<String, Object> adapt = new HashMap<>(dinov2);
        adapt.putAll(Map.of("init_backbone", file.toString(), "global_crop_size", 48, "freeze_backbone_epochs", 1, "max_steps", 2));
        Pretraining.Result run = PretrainerTest.run(PretrainerTest.tiny(dir.resolve("adapted"), adapt), PretrainerTest.QUIET);
        assertThat(run.iteration()).isEqualTo(2);
        try (IbotModel model = IbotModel.open(run.checkpoint(), 2)) {
            assertThat(model.config().imgSize()).isEqualTo(32);
            assertThat(model.readTensor("teacher.backbone.pos_embed")).containsExactly(WeightExchange.read(file).get("pos_embed").data());
        }
    }

    /**
     * Two warm-up epochs of four steps, then one of training, with Gram anchoring against the initial backbone: the
     * backbones stay the file's bit for bit up to iteration 8 while the heads move; stopping at iteration 5 and resuming
     * gives the uninterrupted run's weights (Gram teacher included) and metrics exactly.
     */
    @Test
    void theHeadWarmupKeepsTheBackboneAndAResumeInsideItEndsWhereTheWholeRunDoes(@TempDir Path dir) throws IOException {
        Path file = foundation(dir);
        Map<String, Object> adapt = Map.of("init_backbone", file.toString(), "freeze_backbone_epochs", 2, "layer_decay", 0.7,
                "backbone_lr_multiplier", 0.5, "gram_loss_weight", 1.0, "collapse_warn_steps", 2, "keep_checkpoints", 10);
        Map<String, PthReader.FloatTensor> tensors = WeightExchange.read(file);

        Pretraining.Result warm = PretrainerTest.run(tiny(dir.resolve("warm"), with(adapt, "max_steps", 8)), PretrainerTest.QUIET);
        Map<String, float[]> fresh;
        try (IbotModel model = IbotModel.create(PretrainSetup.of(tiny(dir.resolve("x"), adapt), 32, new int[] {28, 28}).model())) {
            fresh = state(model);
        }
        try (IbotModel model = IbotModel.open(warm.checkpoint(), 2)) {
            for (Map.Entry<String, PthReader.FloatTensor> e : tensors.entrySet()) {
                for (String net : List.of("student", "teacher", "gram")) {
                    assertThat(model.readTensor(net + ".backbone." + e.getKey())).as(net + " " + e.getKey()).containsExactly(e.getValue().data());
                }
            }
            assertThat(model.readTensor("student.backbone.masked_embed")).containsExactly(fresh.get("student.backbone.masked_embed"));
            assertThat(model.readTensor("student.head.mlp.0.weight")).isNotEqualTo(fresh.get("student.head.mlp.0.weight"));
            assertThat(model.readTensor("teacher.head.mlp.0.weight")).isNotEqualTo(fresh.get("teacher.head.mlp.0.weight"));
        }
        assertThat(PretrainerTest.column(dir.resolve("warm/metrics.csv"), "backbone_frozen")).containsOnly("true").hasSize(8);

        Pretraining.Result whole = PretrainerTest.run(tiny(dir.resolve("whole"), adapt), PretrainerTest.QUIET);
        Path split = dir.resolve("split");
        assertThat(PretrainerTest.run(tiny(split, with(adapt, "max_steps", 5)), PretrainerTest.QUIET).iteration()).isEqualTo(5);
        Pretraining.Result rest = PretrainerTest.run(tiny(split, adapt), PretrainerTest.QUIET);
        assertThat(rest.iteration()).isEqualTo(whole.iteration()).isEqualTo(12);
        try (IbotModel a = IbotModel.open(whole.checkpoint(), 2); IbotModel b = IbotModel.open(rest.checkpoint(), 2)) {
            assertThat(b.tensorNames()).isEqualTo(a.tensorNames()).contains("gram.backbone.cls_token");
            for (String name : a.tensorNames()) assertThat(b.readTensor(name)).as(name).containsExactly(a.readTensor(name));
            // After the warm-up the backbone trains; the initial Gram teacher stays the file's.
            assertThat(a.readTensor("student.backbone.cls_token")).isNotEqualTo(tensors.get("cls_token").data());
            assertThat(a.readTensor("gram.backbone.cls_token")).containsExactly(tensors.get("cls_token").data());
        }
        List<String> gram = PretrainerTest.column(dir.resolve("whole/metrics.csv"), "gram_loss");
        assertThat(PretrainerTest.column(split.resolve("metrics.csv"), "loss")).isEqualTo(PretrainerTest.column(dir.resolve("whole/metrics.csv"), "loss"));
        assertThat(PretrainerTest.column(split.resolve("metrics.csv"), "gram_loss")).isEqualTo(gram);
        // The student is the Gram teacher while the backbone is frozen (its masked crops differ): the term grows once it trains.
        assertThat(Double.parseDouble(gram.get(11))).isGreaterThan(0);
    }

    /**
     * Feature distillation: a DINOv3-style teacher file (patch 16, 2 x 2 tokens a 32-px crop) teaches the official ViT
     * (patch 8, 4 x 4); the result is an ordinary checkpoint an Encoder opens, the teacher frozen in it. A teacher
     * narrower than --distill_arch asks is refused before anything is written.
     */
    @Test
    void distillationFromAFileGivesAnOrdinaryCheckpointAndANarrowerTeacherIsRefused(@TempDir Path dir) throws IOException {
        Path file = foundation(dir, PretrainerTest.tiny(dir.resolve("source"), Map.of("arch", ARCH, "max_steps", 2)));
        Map<String, Object> distill = Map.of("distill_from", file.toString(), "distill_arch", ARCH, "distill_embed_dim", 32, "distill_depth", 1,
                "distill_num_heads", 2, "max_steps", 2);
        ByteArrayOutputStream text = new ByteArrayOutputStream();
        Pretraining.Result run = PretrainerTest.run(PretrainerTest.tiny(dir.resolve("student"), distill), new PrintStream(text, true, StandardCharsets.UTF_8));
        assertThat(text.toString(StandardCharsets.UTF_8)).contains("distill_from: ").contains("(dinov3 backbone), a frozen teacher");
        assertThat(run.iteration()).isEqualTo(2);
        assertThat(PretrainerTest.column(dir.resolve("student/metrics.csv"), "distill_loss")).allSatisfy(v -> assertThat(Double.parseDouble(v)).isPositive());
        Map<String, PthReader.FloatTensor> tensors = WeightExchange.read(file);
        try (IbotModel model = IbotModel.open(run.checkpoint(), 2)) {
            for (Map.Entry<String, PthReader.FloatTensor> e : tensors.entrySet()) {
                assertThat(model.readTensor("distill.backbone." + e.getKey())).as(e.getKey()).containsExactly(e.getValue().data());
            }
        }
        try (Encoder encoder = Encoder.open(dir.resolve("student"), Encoder.Options.defaults().threads(2))) {
            assertThat(encoder.dim()).isEqualTo(32);
            assertThat(encoder.config().patchSize()).isEqualTo(8);
        }
        Map<String, Object> wider = new HashMap<>(distill);
        wider.put("distill_embed_dim", 64);
        assertThatThrownBy(() -> PretrainerTest.run(PretrainerTest.tiny(dir.resolve("wider"), wider), PretrainerTest.QUIET))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("--distill_from " + file + ": the backbone differs from --distill_arch's")
                .hasMessageContaining("embed_dim: 32 in the file, 64 in this run (--distill_arch / --distill_embed_dim)");
        assertThat(dir.resolve("wider")).doesNotExist();
    }

    private static Map<String, Object> with(Map<String, Object> base, String key, Object value) {
        Map<String, Object> m = new HashMap<>(base);
        m.put(key, value);
        return m;
    }

    private static Map<String, float[]> state(IbotModel model) {
        Map<String, float[]> out = new HashMap<>();
        for (String name : model.tensorNames()) out.put(name, model.readTensor(name));
        return out;
    }
}
