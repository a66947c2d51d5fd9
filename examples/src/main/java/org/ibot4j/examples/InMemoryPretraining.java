package org.ibot4j.examples;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
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
import org.ibot4j.trainer.data.IdxDataset;
import org.ibot4j.trainer.data.InMemoryImages;
import org.ibot4j.trainer.run.PretrainOptions;
import org.ibot4j.trainer.run.running.Pretraining;

/**
 * Pretraining as a library call on images a service holds in memory (here the first Fashion-MNIST
 * training images as BufferedImages, as a database or object store would hand them over): options
 * built in Java, a listener that receives every step and checkpoint (a platform would forward them to
 * its tracker), a cancellation from another thread after K steps, and a second call that resumes the
 * run folder and finishes at 2K steps.
 *
 * <p>Arguments: an optional output folder (default: a new temporary folder). Exits with status 1 when
 * the run does not stop at K or end at 2K.
 */
public final class InMemoryPretraining {
    static final int K = 4;

    public static void main(String[] args) throws Exception {
        Path out = args.length > 0 ? Files.createDirectories(Path.of(args[0])) : Files.createTempDirectory("ibot4j-in-memory");
        Path fashion = Path.of(System.getenv().getOrDefault("IBOT4J_FASHION_MNIST", "/usr/share/datasets/fashion-mnist"));
        IdxDataset data = IdxDataset.read(fashion, "train").head(256);
        List<BufferedImage> images = new ArrayList<>();
        for (byte[] pixels : data.images()) {
            BufferedImage image = new BufferedImage(data.cols(), data.rows(), BufferedImage.TYPE_BYTE_GRAY);
            image.getRaster().setDataElements(0, 0, data.cols(), data.rows(), pixels);
            images.add(image);
        }
        InMemoryImages source = InMemoryImages.of(images, data.labels());

        PretrainOptions options = PretrainOptions.builder().arch(Arch.VIT_TINY).embedDim(64).depth(2).numHeads(4)
                .outDim(256).patchOutDim(256).headHiddenDim(256).headBottleneckDim(64).localCropsNumber(2).batchSizePerGpu(16)
                .epochs(2).warmupEpochs(1).warmupTeacherTempEpochs(1).maxSteps(2 * K).saveckpIters(K).threads(2).numWorkers(1)
                .outputDir(Files.createTempDirectory(out, "run-").toString()).build();  // a new run folder each time

        ExecutorService trainer = Executors.newSingleThreadExecutor();
        CountDownLatch kDone = new CountDownLatch(1), cancelSent = new CountDownLatch(1);
        Pretraining first = Pretraining.of(options).data(source).listener(new Pretraining.Listener() {
            @Override public void onStep(Pretraining.Step step) {
                System.out.printf(Locale.ROOT, "step %d: loss %.4f, %.1f images/s%n", step.iteration(), step.result().loss(), step.imagesPerSecond());
                if (step.iteration() == K - 1) {
                    kDone.countDown();
                    awaitQuietly(cancelSent);  // so that the cancel lands exactly at the K-th step boundary
                }
            }
            @Override public void onCheckpoint(Path checkpoint, long iteration) {
                System.out.println("checkpoint at " + iteration + ": " + checkpoint.getFileName());
            }
        }).build();
        Future<Pretraining.Result> running = trainer.submit(first::run);
        // This thread is the controller: it cancels once K steps are done (a platform would on a user's request).
        while (!kDone.await(100, TimeUnit.MILLISECONDS)) {
            if (running.isDone()) break;  // it ended before K steps (an error): get() below reports it
        }
        first.cancel();
        cancelSent.countDown();
        Pretraining.Result stopped = running.get();
        trainer.shutdown();

        Pretraining.Result finished = Pretraining.of(options).data(source).build().run();
        System.out.println("in-memory pretraining: resumed at " + stopped.iteration() + ", finished at " + finished.iteration());
        if (!stopped.cancelled() || stopped.iteration() != K || finished.iteration() != 2 * K) System.exit(1);
    }

    private static void awaitQuietly(CountDownLatch latch) {
        try {
            latch.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
