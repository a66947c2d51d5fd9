package org.ibot4j.trainer.run.running;

import static org.assertj.core.api.Assertions.assertThat;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.ibot4j.api.Arch;
import org.ibot4j.api.IbotModel;
import org.ibot4j.trainer.cli.Ibot4jCli;
import org.ibot4j.trainer.data.IdxDataset;
import org.ibot4j.trainer.data.IdxDatasetTest;
import org.ibot4j.trainer.data.IdxSource;
import org.ibot4j.trainer.data.InMemoryImages;
import org.ibot4j.trainer.run.PretrainOptions;
import org.ibot4j.trainer.run.checkpoints.CheckpointStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Pretraining as a library call: the CLI's run from Java options, any ImageSource, a listener, cancellation. */
class PretrainingTest {
    /** The tiny run of {@link PretrainerTest#tiny} built in Java instead of from strings. */
    static PretrainOptions.Builder tiny(Path output) {
        return PretrainOptions.builder().dataPath(IdxDatasetTest.FASHION.toString()).outputDir(output.toString()).arch(Arch.VIT_TINY)
                .embedDim(32).depth(1).numHeads(2).outDim(64).patchOutDim(64).headHiddenDim(64).headBottleneckDim(16).localCropsNumber(2)
                .batchSizePerGpu(8).subset(32).epochs(3).warmupEpochs(1).warmupTeacherTempEpochs(3).freezeLastLayer(1).lr(0.05)
                .saveckpIters(2).keepCheckpoints(2).threads(2).numWorkers(2);
    }

    @Test
    void theLibraryRunOnAnImageSourceEqualsTheCliRunBitForBit(@TempDir Path dir) throws Exception {
        Path cli = dir.resolve("cli");
        int code = Ibot4jCli.execute(new String[] {"pretrain", "--data", IdxDatasetTest.FASHION.toString(), "--output",
                cli.toString(), "--arch", "vit_tiny", "--embed_dim", "32", "--depth", "1", "--num_heads", "2", "--out_dim", "64",
                "--patch_out_dim", "64", "--head_hidden_dim", "64", "--head_bottleneck_dim", "16", "--local_crops_number", "2",
                "--batch_size_per_gpu", "8", "--subset", "32", "--epochs", "3", "--warmup_epochs", "1", "--warmup_teacher_temp_epochs", "3",
                "--freeze_last_layer", "1", "--lr", "0.05", "--saveckp_iters", "2", "--keep_checkpoints", "2", "--threads", "2",
                "--num_workers", "2"}, PretrainerTest.QUIET, PretrainerTest.QUIET);
        assertThat(code).isZero();

        Path lib = dir.resolve("lib");
        IdxSource images = new IdxSource(IdxDataset.read(IdxDatasetTest.FASHION, "train"));
        List<Long> steps = new ArrayList<>();
        List<Long> checkpoints = new ArrayList<>();
        Pretraining.Result outcome = Pretraining.of(tiny(lib).dataPath("").build()).data(images).listener(new Pretraining.Listener() {
            @Override public void onStep(Pretraining.Step step) { steps.add(step.iteration()); }
            @Override public void onCheckpoint(Path checkpoint, long iteration) { checkpoints.add(iteration); }
        }).build().run();
        assertThat(outcome.iteration()).isEqualTo(12);
        assertThat(outcome.cancelled()).isFalse();
        assertThat(steps).hasSize(12).startsWith(0L, 1L).endsWith(11L);
        assertThat(checkpoints).containsExactly(2L, 4L, 6L, 8L, 10L, 12L);
        assertSameTeacher(CheckpointStore.resolve(cli), outcome.checkpoint());
    }

    @Test
    void cancelledFromAnotherThreadItCheckpointsAndResumesToTheSameEnd(@TempDir Path dir) throws Exception {
        PretrainOptions options = tiny(dir.resolve("run")).maxSteps(10).saveckpIters(4).build();
        CountDownLatch fourDone = new CountDownLatch(4);
        CountDownLatch cancelled = new CountDownLatch(1);
        Pretraining run = Pretraining.of(options).listener(new Pretraining.Listener() {
            @Override public void onStep(Pretraining.Step step) {
                fourDone.countDown();
                if (fourDone.getCount() == 0) await(cancelled);  // hold the run at a step boundary until cancel() returned
            }
        }).build();
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try {
            Future<Pretraining.Result> pending = pool.submit(run::run);
            assertThat(fourDone.await(2, TimeUnit.MINUTES)).isTrue();
            run.cancel();
            cancelled.countDown();
            Pretraining.Result stopped = pending.get(2, TimeUnit.MINUTES);
            assertThat(stopped.cancelled()).isTrue();
            assertThat(stopped.iteration()).isEqualTo(4);
            assertThat(stopped.checkpoint().getFileName().toString()).isEqualTo("ckpt-00000004.ibot4j");
        } finally {
            pool.shutdownNow();
        }
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        Pretraining.Result resumed = Pretraining.of(options).console(new PrintStream(console, true, StandardCharsets.UTF_8)).build().run();
        assertThat(console.toString(StandardCharsets.UTF_8)).contains("resuming").contains("at 4, until 10");
        assertThat(resumed.iteration()).isEqualTo(10);
        Pretraining.Result whole = Pretraining.of(tiny(dir.resolve("whole")).maxSteps(10).saveckpIters(4).build()).build().run();
        assertSameTeacher(whole.checkpoint(), resumed.checkpoint());
    }

    @Test
    void inMemoryImagesTrain(@TempDir Path dir) throws Exception {
        IdxDataset fashion = IdxDataset.read(IdxDatasetTest.FASHION, "t10k").head(32);
        List<BufferedImage> images = new ArrayList<>();
        for (byte[] pixels : fashion.images()) {
            BufferedImage image = new BufferedImage(28, 28, BufferedImage.TYPE_BYTE_GRAY);
            image.getRaster().setDataElements(0, 0, 28, 28, pixels);
            images.add(image);
        }
        Pretraining.Result out = Pretraining.of(tiny(dir.resolve("mem")).dataPath("").maxSteps(3).build())
                .data(InMemoryImages.of(images, fashion.labels())).build().run();
        assertThat(out.iteration()).isEqualTo(3);
        assertThat(out.checkpoint()).exists();
    }

    @Test
    void theBuilderHasOneSetterPerOptionMarkingItsOwnName() throws Exception {
        for (Field f : PretrainOptions.class.getFields()) {
            if (Modifier.isStatic(f.getModifiers())) continue;
            Method setter = PretrainOptions.Builder.class.getMethod(f.getName(), f.getType());
            PretrainOptions.Builder b = PretrainOptions.builder();
            Object value = f.get(new PretrainOptions());
            setter.invoke(b, value);
            String snake = f.getName().replaceAll("([A-Z])", "_$1").toLowerCase(Locale.ROOT);
            PretrainOptions built = b.build();
            assertThat(built.explicitNames()).as(f.getName()).containsExactly(snake);
        }
        assertThat(PretrainOptions.builder().lr(1e-3).build().lr).isEqualTo(1e-3);
    }

    private static void await(CountDownLatch latch) {
        try {
            latch.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static void assertSameTeacher(Path a, Path b) {
        try (IbotModel x = IbotModel.open(a, 2); IbotModel y = IbotModel.open(b, 2)) {
            for (String name : x.tensorNames()) {
                if (!name.startsWith("teacher.")) continue;
                assertThat(y.readTensor(name)).as(name).containsExactly(x.readTensor(name));
            }
        }
    }
}
