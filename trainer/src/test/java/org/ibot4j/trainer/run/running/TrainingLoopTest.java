package org.ibot4j.trainer.run.running;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.ibot4j.api.IbotConfig;
import org.ibot4j.api.IbotModel;
import org.ibot4j.trainer.data.IdxDataset;
import org.ibot4j.trainer.data.IdxDatasetTest;
import org.ibot4j.trainer.data.IdxSource;
import org.ibot4j.trainer.data.ImageSource;
import org.ibot4j.trainer.data.MaskingPolicy;
import org.ibot4j.trainer.data.MultiCropAugmentation;
import org.ibot4j.trainer.data.MultiCropLoader;
import org.ibot4j.trainer.data.RgbImage;
import org.ibot4j.trainer.run.checkpoints.CheckpointStore;
import org.ibot4j.trainer.schedule.CosineSchedule;
import org.ibot4j.trainer.schedule.Schedules;
import org.ibot4j.trainer.schedule.TeacherTemperature;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainingLoopTest {
    static final int BATCH = 8, TOTAL = 8;

    static IbotConfig config(long seed) {
        return IbotConfig.builder().imgSize(32).patchSize(4).embedDim(64).depth(2).numHeads(4)
                .outDim(128).patchOutDim(128).hiddenDim(128).bottleneckDim(32).sharedHead(true)
                .dropPathRate(0.1).seed(seed).numThreads(2).build();
    }

    static Schedules schedules() {
        // 4 iterations per epoch: the teacher temperature changes and the last layer unfreezes mid-run.
        return new Schedules(new CosineSchedule(1e-3, 1e-5, TOTAL, 2, 0), new CosineSchedule(0.04, 0.4, TOTAL, 0, 0),
                new CosineSchedule(0.99, 1.0, TOTAL, 0, 0), new TeacherTemperature(0.04, 0.07, 2, 0),
                new TeacherTemperature(0.04, 0.07, 2, 0), 1, 4, 3.0);
    }

    static MultiCropLoader loader(ImageSource source, IbotConfig config, long firstBatch) {
        return new MultiCropLoader(source, new MultiCropAugmentation(MultiCropAugmentation.Options.published(2, 32, 16)),
                MaskingPolicy.published(), config, BATCH, 2, 2, 5, firstBatch);
    }

    @Test
    void stoppingAndResumingFromACheckpointEndsBitIdentical(@TempDir Path dir) throws IOException {
        IdxSource source = new IdxSource(IdxDataset.read(IdxDatasetTest.FASHION, "t10k").head(32));
        List<float[]> uninterrupted = new ArrayList<>();
        List<String> names;
        try (IbotModel model = IbotModel.create(config(1)); MultiCropLoader l = loader(source, model.config(), 0)) {
            new TrainingLoop(model, l, schedules(), 3).run(0, TOTAL, (it, p, r, w) -> assertThat(r.finite()).isTrue());
            names = model.tensorNames();
            for (String n : names) uninterrupted.add(model.readTensor(n));
        }

        CheckpointStore store = new CheckpointStore(dir, 2);
        try (IbotModel model = IbotModel.create(config(1)); MultiCropLoader l = loader(source, model.config(), 0)) {
            new TrainingLoop(model, l, schedules(), 3).run(0, 3, (it, p, r, w) -> { });
            store.save(model, 3, "{}");
        }
        Path latest = store.latest().orElseThrow();
        long resumeAt = CheckpointStore.iterationOf(latest);
        try (IbotModel model = IbotModel.open(latest, 2); MultiCropLoader l = loader(source, model.config(), resumeAt)) {
            new TrainingLoop(model, l, schedules(), 3).run(resumeAt, TOTAL, (it, p, r, w) -> { });
            for (int i = 0; i < names.size(); i++) {
                assertThat(model.readTensor(names.get(i))).as(names.get(i)).containsExactly(uninterrupted.get(i));
            }
        }
    }

    @Test
    void aCrashDuringACheckpointWriteLeavesThePreviousOneLoadable(@TempDir Path dir) throws IOException {
        CheckpointStore store = new CheckpointStore(dir, 2);
        try (IbotModel model = IbotModel.create(config(2))) {
            for (long it : new long[] {10, 20, 30}) store.save(model, it, "{\"iteration\":" + it + "}");
        }
        assertThat(store.checkpoints()).extracting(CheckpointStore::iterationOf).containsExactly(20L, 30L);
        // The process died while writing iteration 40 (only the temporary file exists) ...
        Files.write(dir.resolve(".ckpt-00000040.ibot4j.4242-0a1b2c3d.tmp"), new byte[1000]);
        // ... and, worse, the storage lost the tail of the newest complete one.
        Path newest = dir.resolve("ckpt-00000030.ibot4j");
        byte[] bytes = Files.readAllBytes(newest);
        Files.write(newest, Arrays.copyOf(bytes, bytes.length / 3));

        Path latest = store.latest().orElseThrow();
        assertThat(CheckpointStore.iterationOf(latest)).isEqualTo(20);
        try (IbotModel model = IbotModel.open(latest, 2)) {
            assertThat(IbotModel.readMetadata(latest)).isEqualTo("{\"iteration\":20}");
            assertThat(model.tensorNames()).isNotEmpty();
        }
    }

    @Test
    void repeatedNonFiniteLossesStopTheRunWithAClearMessage() throws IOException {
        IdxSource good = new IdxSource(IdxDataset.read(IdxDatasetTest.FASHION, "t10k").head(16));
        ImageSource poisoned = new ImageSource() {
            @Override public int size() { return good.size(); }
            @Override public int label(int i) { return good.label(i); }
            @Override public int numClasses() { return 10; }
            @Override public String describe(int i) { return "poisoned " + i; }
            @Override public RgbImage load(int i) {
                RgbImage img = good.load(i);
                Arrays.fill(img.planes()[0], Float.NaN);  // every crop sees it
                return img;
            }
        };
        try (IbotModel model = IbotModel.create(config(3)); MultiCropLoader l = loader(poisoned, model.config(), 0)) {
            float[] before = model.readTensor("student.backbone.pos_embed");
            List<Boolean> finite = new ArrayList<>();
            assertThatThrownBy(() -> new TrainingLoop(model, l, schedules(), 3).run(0, TOTAL, (it, p, r, w) -> finite.add(r.finite())))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("3 non-finite losses in a row");
            assertThat(finite).containsExactly(false, false, false);
            assertThat(model.readTensor("student.backbone.pos_embed")).containsExactly(before);
        }
    }
}
