package org.ibot4j.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * close() waits for calls in flight, as the class documents, including every batch of a multi-batch
 * embed call: before, close() slipped in between two batches and the call failed (5 of 5 tries).
 */
class EncoderCloseTest {
    @Test
    void closeWaitsForEveryBatchOfACallInFlight(@TempDir Path dir) throws Exception {
        Path checkpoint = dir.resolve("ckpt-00000000.ibot4j");
        try (IbotModel model = IbotModel.create(TinyModels.config(11))) {
            model.save(checkpoint, "");
        }
        List<BufferedImage> images = EncoderTest.fashionTest(64);
        float[][] expected;
        try (Encoder reference = Encoder.open(checkpoint, Encoder.Options.defaults().threads(1).batchSize(1))) {
            expected = reference.embed(images);
        }
        for (int attempt = 0; attempt < 3; attempt++) {
            Encoder encoder = Encoder.open(checkpoint, Encoder.Options.defaults().threads(1).batchSize(1));
            CompletableFuture<float[][]> call = CompletableFuture.supplyAsync(() -> encoder.embed(images));
            while (!call.isDone() && encoder.inFlight() == 0) Thread.onSpinWait();
            encoder.close();
            // The call began before close: it finishes every batch (before, the next batch threw IllegalStateException).
            assertThat(call.get(1, TimeUnit.MINUTES)).isDeepEqualTo(expected);
            assertThatThrownBy(() -> encoder.embed(Collections.nCopies(1, images.get(0)))).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("closed");
        }
    }
}
