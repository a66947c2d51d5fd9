package org.ibot4j.trainer.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;
import org.assertj.core.data.Offset;
import org.ibot4j.api.IbotModel;
import org.ibot4j.api.Network;
import org.ibot4j.api.io.SafeTensors;
import org.ibot4j.trainer.data.Datasets;
import org.ibot4j.trainer.data.IdxDatasetTest;
import org.ibot4j.trainer.eval.EvalViews;
import org.ibot4j.trainer.run.running.PretrainerTest;
import org.ibot4j.trainer.run.running.Pretraining;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EvalLinearCommandTest {
    @TempDir
    static Path dir;

    static Pretraining.Result run;

    @BeforeAll
    static void pretrainATinyModel() throws IOException {
        run = PretrainerTest.run(PretrainerTest.tiny(dir.resolve("run"), Map.of("epochs", 2, "warmup_teacher_temp_epochs", 2)), PretrainerTest.QUIET);
    }

    private static CliTest.Result probe(String... extra) {
        String[] base = {"eval-linear", "--checkpoint", dir.resolve("run").toString(), "--data", IdxDatasetTest.FASHION.toString(),
                "--limit_train", "400", "--limit_val", "200", "--threads", "2"};
        String[] args = Arrays.copyOf(base, base.length + extra.length);
        System.arraycopy(extra, 0, args, base.length, extra.length);
        return CliTest.run(args);
    }

    /**
     * 400 real Fashion-MNIST images through a tiny pretrained model: well above chance; the
     * printed numbers, the JSON in the run folder and the saved features agree with each other and
     * with the features the Java API gives for the same images.
     */
    @Test
    void frozenFeaturesProbeIsWellAboveChanceAndWritesItsResultAndFeatures() throws IOException {
        Path features = dir.resolve("features.safetensors");
        CliTest.Result r = probe("--epochs", "100", "--batch_size", "64", "--lr", "1,10", "--save_features", features.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("mode: frozen-features  top-1").contains("CLS of the last 1 block(s) = 32 values")
                .contains(run.checkpoint().getFileName().toString());
        JsonNode json = new ObjectMapper().readTree(dir.resolve("run/eval_linear.json").toFile());
        assertThat(json.get("mode").asText()).isEqualTo("frozen-features");
        assertThat(json.get("train_images").asInt()).isEqualTo(400);
        assertThat(json.get("per_lr")).hasSize(2);
        double top1 = json.get("best").get("top1").asDouble();
        // This model (width 32, one block, 8 steps) gives 34.5 % here; chance is 10 %.
        assertThat(top1).as("top-1 on 200 images, 10 classes").isGreaterThan(25);
        assertThat(r.out()).contains(String.format(Locale.ROOT, "top-1 %.2f %%", top1));

        try (SafeTensors f = SafeTensors.open(features); IbotModel model = IbotModel.open(run.checkpoint(), 2); Arena arena = Arena.ofConfined()) {
            float[] saved = f.floats("val_features");
            assertThat(saved).hasSize(200 * 32);
            assertThat(f.floats("train_labels")).hasSize(400);
            // The first validation image through the API directly: the same CLS features.
            EvalViews views = EvalViews.of(run.checkpoint(), model.config());
            int size = views.size();
            MemorySegment image = arena.allocate(ValueLayout.JAVA_FLOAT, 3L * size * size);
            views.views().centre(Datasets.open(IdxDatasetTest.FASHION.toString(), Datasets.Split.TEST).load(0), size, image, 0);
            MemorySegment cls = arena.allocate(ValueLayout.JAVA_FLOAT, 32);
            model.intermediateFeatures(Network.TEACHER, image, 1, size, size, 1, true, cls, MemorySegment.NULL);
            float[] direct = cls.toArray(ValueLayout.JAVA_FLOAT);
            for (int i = 0; i < 32; i++) assertThat(saved[i]).isCloseTo(direct[i], Offset.offset(1e-5f));
        }
    }

    @Test
    void fullAugmentationModeSaysSoAndLearns() throws IOException {
        Path out = dir.resolve("full");
        CliTest.Result r = probe("--mode", "full-augmentation", "--epochs", "3", "--lr", "1", "--avgpool_patchtokens", "2",
                "--output", out.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("linear probe (mode: full-augmentation)").contains("mode: full-augmentation  top-1")
                .contains("+ mean patch token = 64 values");
        JsonNode json = new ObjectMapper().readTree(out.resolve("eval_linear.json").toFile());
        assertThat(json.get("mode").asText()).isEqualTo("full-augmentation");
        assertThat(json.get("avgpool_patchtokens").asInt()).isEqualTo(2);
        assertThat(json.get("best").get("top1").asDouble()).isGreaterThan(20);
    }

    @Test
    void badFlagsAreRefusedNamingTheFlag() {
        String[][] bad = {{"--mode", "fast"}, {"--lr", "abc"}, {"--lr", "-0.1"}, {"--epochs", "0"}, {"--batch_size", "0"},
                {"--avgpool_patchtokens", "3"}, {"--n_last_blocks", "0"}, {"--weight_decay", "-1"}, {"--save_features", "x.npy"},
                {"--learning_rate", "0.1"}};
        for (String[] args : bad) {
            CliTest.Result r = probe(args);
            assertThat(r.code()).as(String.join(" ", args)).isEqualTo(2);
            assertThat(r.err()).as(String.join(" ", args)).contains(args[0].equals("--learning_rate") ? "--learning_rate" : args[0].substring(2));
        }
        // More blocks than the model has: refused once the checkpoint is read, naming the depth.
        CliTest.Result deep = probe("--n_last_blocks", "2", "--epochs", "1");
        assertThat(deep.code()).isEqualTo(1);
        assertThat(deep.err()).contains("--n_last_blocks must be in 1..1");
    }
}
