package org.ibot4j.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.ibot4j.api.io.BackboneMetadata;
import org.ibot4j.api.io.NamedTensor;
import org.ibot4j.api.io.SafeTensorsWriter;
import org.ibot4j.api.io.WeightExchange;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Checkpoint -> export -> Encoder gives the checkpoint's features to the bit, in every export format an
 * Encoder opens: the file carries the run's normalisation (here Fashion-MNIST's, not ImageNet's) and its
 * 4 heads (not embed_dim / 64 = 1). Before, such an export reopened with a cosine of 0.55 and no warning.
 */
class ExportMetadataTest {
    @TempDir
    static Path dir;
    static Path checkpoint;
    static List<BufferedImage> images;

    @BeforeAll
    static void trained() throws IOException {
        checkpoint = TinyModels.trainedCheckpoint(dir.resolve("ckpt-00000001.ibot4j"), 7, 1, TinyModels.FASHION_NORMALISATION);
        images = EncoderTest.fashionTest(24);
    }

    @Test
    void everyFormatReopensAsTheCheckpointDid() throws IOException {
        float[][] expected;
        try (Encoder fromCheckpoint = Encoder.open(checkpoint, Encoder.Options.defaults().threads(1))) {
            expected = fromCheckpoint.embed(images);
        }
        for (WeightExchange.Format format : WeightExchange.Format.values()) {
            Path file = dir.resolve("teacher." + format.name().toLowerCase(Locale.ROOT));
            try (IbotModel model = IbotModel.open(checkpoint, 1)) {
                WeightExchange.export(model, Network.TEACHER, format, file, new double[] {0.286}, new double[] {0.353});
            }
            BackboneMetadata stored = BackboneMetadata.read(file).orElseThrow();
            assertThat(stored.config().numHeads()).isEqualTo(4);
            try (Encoder reopened = Encoder.open(file, Encoder.Options.defaults().threads(1))) {
                assertThat(reopened.config().numHeads()).as(format.name()).isEqualTo(4);
                assertThat(reopened.transform().mean()).containsExactly(0.286f, 0.286f, 0.286f);
                assertThat(reopened.imageSize()).isEqualTo(32);
                assertThat(reopened.embed(images)).as(format.name()).isDeepEqualTo(expected);
            }
        }
    }

    @Test
    void aFileWithoutMetadataIsOpenedOnTheStatedAssumptions() throws IOException {
        Path plain = dir.resolve("plain.safetensors");
        try (IbotModel model = IbotModel.open(checkpoint, 1)) {
            List<NamedTensor> tensors = WeightExchange.backbone(model, Network.TEACHER);
            SafeTensorsWriter.write(plain, tensors, Map.of());
        }
        assertThat(BackboneMetadata.read(plain)).isEmpty();
        try (Encoder assumed = Encoder.open(plain, Encoder.Options.defaults().threads(1))) {
            assertThat(assumed.config().numHeads()).isEqualTo(1);
            assertThat(assumed.transform().mean()).containsExactly(0.485f, 0.456f, 0.406f);
        }
    }

    @Test
    void torchLoadStillSeesOnlyTheStateDict() throws IOException {
        // The .pth record sits beside data.pkl; PthReader (like torch.load) reads tensors from the pickle only.
        Path pth = dir.resolve("check.pth");
        try (IbotModel model = IbotModel.open(checkpoint, 1)) {
            WeightExchange.export(model, Network.TEACHER, WeightExchange.Format.PTH, pth, null, null);
        }
        assertThat(WeightExchange.read(pth).keySet()).contains("cls_token", "pos_embed").noneMatch(k -> k.contains("ibot4j"));
        assertThat(BackboneMetadata.read(pth).orElseThrow().mean()).isNull();
        assertThat(Files.size(pth)).isPositive();
    }
}
