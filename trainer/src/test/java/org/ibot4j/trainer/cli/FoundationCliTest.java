package org.ibot4j.trainer.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import org.ibot4j.api.Family;
import org.ibot4j.api.IbotConfig;
import org.ibot4j.api.IbotModel;
import org.ibot4j.api.Network;
import org.ibot4j.api.io.SafeTensors;
import org.ibot4j.api.io.WeightExchange;
import org.ibot4j.trainer.data.FashionPngs;
import org.ibot4j.trainer.run.running.Pretraining;
import org.ibot4j.trainer.run.running.PretrainerTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The commands on DINOv2 / DINOv3 files (the small random-weight ones java-api's FoundationWeightsTest reads):
 * embed infers the architecture of a Meta hub file, export rewrites it with timm's names and the rewrite is a fixed
 * point (exporting the export gives the same bytes) that embeds to the same features, a wrong --arch is refused with
 * a sentence, and TorchScript export writes a module.
 */
class FoundationCliTest {
    private static final Path LAYOUTS = Path.of(System.getProperty("ibot4j.root", ".."), "java-api", "src", "test", "resources", "fixtures", "layouts");

    @Test
    void embedAndExportADinov3HubFile(@TempDir Path dir) throws IOException {
        Path images = FashionPngs.write(dir.resolve("images"), 3);
        Path meta = LAYOUTS.resolve("meta_dinov3_qkvb.pth");
        Path fromMeta = dir.resolve("meta.safetensors");
        CliTest.Result embedded = CliTest.run("embed", "--checkpoint", meta.toString(), "--images", images.toString(), "--output",
                fromMeta.toString(), "--threads", "2");
        assertThat(embedded.code()).as(embedded.err()).isZero();

        Path timm = dir.resolve("timm.safetensors"), again = dir.resolve("again.safetensors");
        CliTest.Result exported = CliTest.run("export", "--checkpoint", meta.toString(), "--format", "safetensors", "--output", timm.toString());
        assertThat(exported.code()).as(exported.err()).isZero();
        // The export has no periods (timm's names), so its heads come from the architecture it records.
        CliTest.Result reexported = CliTest.run("export", "--checkpoint", timm.toString(), "--format", "safetensors", "--output", again.toString());
        assertThat(reexported.code()).as(reexported.err()).isZero();
        assertThat(Files.readAllBytes(again)).isEqualTo(Files.readAllBytes(timm));

        Path fromTimm = dir.resolve("timm-features.safetensors");
        CliTest.Result timmEmbedded = CliTest.run("embed", "--checkpoint", timm.toString(), "--images", images.toString(), "--output",
                fromTimm.toString(), "--threads", "2");
        assertThat(timmEmbedded.code()).as(timmEmbedded.err()).isZero();
        try (SafeTensors a = SafeTensors.open(fromMeta); SafeTensors b = SafeTensors.open(fromTimm)) {
            assertThat(a.entry("features").shape()).containsExactly(3, 32);
            // Meta's file runs with its bf16 periods, timm's export with timm's fp32 ones: close, not equal.
            float[] x = a.floats("features"), y = b.floats("features");
            double diff = 0, scale = 0;
            for (int i = 0; i < x.length; i++) {
                diff = Math.max(diff, Math.abs(x[i] - y[i]));
                scale = Math.max(scale, Math.abs(y[i]));
            }
            assertThat(diff / scale).isGreaterThan(0).isLessThan(0.05);
        }
    }

    @Test
    void pretrainFromScratchWithADinov3ArchAndItsAttentionWithoutRegisters(@TempDir Path dir) throws IOException {
        Pretraining.Result run = PretrainerTest.run(PretrainerTest.tiny(dir,
                Map.of("arch", "vit_small_plus_patch16_dinov3", "max_steps", 2)), new PrintStream(new ByteArrayOutputStream()));
        assertThat(run.iteration()).isEqualTo(2);
        assertThat(Double.isFinite(run.lastLoss())).isTrue();
        try (IbotModel model = IbotModel.open(run.checkpoint(), 2);
             Arena arena = Arena.ofConfined()) {
            IbotConfig c = model.config();
            assertThat(c.family()).isEqualTo(Family.DINOV3);
            assertThat(c.numRegisterTokens()).isEqualTo(4);
            assertThat(c.swiglu()).isTrue();
            int size = 2 * c.patchSize();
            var images = arena.allocate(ValueLayout.JAVA_FLOAT, 3L * size * size);
            var out = arena.allocate(ValueLayout.JAVA_FLOAT, (long) c.numHeads() * 5);
            model.attention(Network.TEACHER, images, 1, size, size, out);
            // [CLS] and the 4 patches: the storage tokens' share of the attention is left out of the map.
            float[] a = out.toArray(ValueLayout.JAVA_FLOAT);
            for (int h = 0; h < c.numHeads(); h++) {
                double sum = 0;
                for (int t = 0; t < 5; t++) sum += a[h * 5 + t];
                assertThat(sum).isGreaterThan(0).isLessThan(1);
            }
        }
    }

    /**
     * Meta's hub files start an adaptation run from the command line: DINOv3 with storage tokens and q/v biases (its
     * mask token reaching the student), DINOv2 with positions for 56 px trained on 28-px crops; the wrong family is one
     * sentence and leaves no folder.
     */
    @Test
    void metaHubFilesStartAnAdaptationRun(@TempDir Path dir) throws IOException {
        String[] tiny = {"--data", "fashion-mnist", "--embed_dim", "32", "--depth", "2", "--num_heads", "2", "--out_dim", "64", "--patch_out_dim",
            "64", "--head_hidden_dim", "64", "--head_bottleneck_dim", "16", "--local_crops_number", "2", "--batch_size", "8", "--subset", "16",
            "--epochs", "2", "--warmup_epochs", "1", "--warmup_teacher_temp_epochs", "1", "--threads", "2", "--num_workers", "1",
            "--freeze_backbone_epochs", "1", "--max_steps", "1"};
        Path v3 = dir.resolve("v3");
        CliTest.Result dinov3 = CliTest.run(concat(new String[] {"pretrain", "--init_backbone", LAYOUTS.resolve("meta_dinov3_qkvb.pth").toString(),
            "--arch", "vit_small_patch16_dinov3_qkvb", "--output", v3.toString()}, tiny));
        assertThat(dinov3.code()).as(dinov3.err()).isZero();
        assertThat(dinov3.out()).contains("(dinov3 backbone)");
        try (IbotModel model = IbotModel.open(v3.resolve("checkpoints/ckpt-00000001.ibot4j"), 2)) {
            float[] mask = WeightExchange.read(LAYOUTS.resolve("meta_dinov3_qkvb.pth")).get("mask_token").data();
            assertThat(model.readTensor("student.backbone.masked_embed")).containsExactly(mask);
        }
        CliTest.Result dinov2 = CliTest.run(concat(new String[] {"pretrain", "--init_backbone", LAYOUTS.resolve("meta_dinov2.pth").toString(),
            "--arch", "vit_small_patch14_dinov2", "--global_crop_size", "28", "--local_crop_size", "14", "--output", dir.resolve("v2").toString()},
                tiny));
        assertThat(dinov2.code()).as(dinov2.err()).isZero();
        CliTest.Result wrong = CliTest.run(concat(new String[] {"pretrain", "--init_backbone", LAYOUTS.resolve("meta_dinov2.pth").toString(),
            "--arch", "vit_small_patch16_dinov3", "--output", dir.resolve("wrong").toString()}, tiny));
        assertThat(wrong.code()).isNotZero();
        assertThat(wrong.err()).contains("holds a dinov2 backbone, but --arch vit_small_patch16_dinov3 is a dinov3 one").doesNotContain("Exception");
        assertThat(dir.resolve("wrong")).doesNotExist();
    }

    private static String[] concat(String[] a, String[] b) {
        String[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    @Test
    void aWrongArchIsOneSentenceAndTorchScriptExportWorks(@TempDir Path dir) throws IOException {
        Path images = FashionPngs.write(dir.resolve("images"), 1);
        CliTest.Result wrong = CliTest.run("embed", "--checkpoint", LAYOUTS.resolve("meta_dinov2.pth").toString(), "--arch",
                "vit_small_patch16_dinov3", "--images", images.toString(), "--output", dir.resolve("f.npy").toString());
        assertThat(wrong.code()).isNotZero();
        assertThat(wrong.err()).contains("does not hold a vit_small_patch16_dinov3 backbone").contains("pos_embed").doesNotContain("Exception");
        CliTest.Result script = CliTest.run("export", "--checkpoint", LAYOUTS.resolve("meta_dinov2.pth").toString(), "--num_heads", "2",
                "--format", "torchscript", "--output", dir.resolve("m.pt").toString());
        assertThat(script.code()).as(script.err()).isZero();
        assertThat(dir.resolve("m.pt")).isNotEmptyFile();
    }
}
