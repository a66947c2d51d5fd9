package org.ibot4j.examples.spark;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import org.ibot4j.api.Encoder;

/**
 * One {@link Encoder} per executor JVM, opened by the first task that needs it and shared by every task
 * the JVM runs after it, at once or one after the other: the Encoder is thread-safe, and opening it per
 * task or per partition would read the checkpoint and allocate the backbone again each time. Closed when
 * the JVM ends.
 */
public final class ExecutorEncoder {
    private static Encoder encoder;
    private static Path openedFrom;
    private static int opens, partitions;
    private static long embedNanos, embedded;

    private ExecutorEncoder() {}

    /**
     * @param checkpoint the weights on this executor (e.g. from {@code SparkFiles.get})
     * @param threads LibTorch intra-op threads per call, process-wide: 1 gives every task slot one core,
     *                as Spark's spark.task.cpus = 1 assumes
     */
    public static synchronized Encoder get(Path checkpoint, int threads) {
        if (encoder == null) {
            try {
                encoder = Encoder.open(checkpoint, Encoder.Options.defaults().threads(threads));
            } catch (IOException e) {
                throw new UncheckedIOException("could not open the encoder " + checkpoint, e);
            }
            openedFrom = checkpoint;
            opens++;
            Encoder opened = encoder;
            Runtime.getRuntime().addShutdownHook(new Thread(opened::close, "ibot4j-encoder-close"));
        } else if (!openedFrom.getFileName().equals(checkpoint.getFileName())) {
            // One JVM, one model: a job asking for other weights would otherwise get the first job's silently.
            throw new IllegalStateException("this executor's encoder holds " + openedFrom + ", not " + checkpoint);
        }
        partitions++;
        return encoder;
    }

    /** Adds one embed call's time (summed over the tasks, which run at once on several slots). */
    public static synchronized void record(long nanos, int images) {
        embedNanos += nanos;
        embedded += images;
    }

    /** {seconds in embed calls, images embedded} since the last call, and resets both. */
    public static synchronized double[] takeEmbedTime() {
        double[] taken = {embedNanos / 1e9, embedded};
        embedNanos = 0;
        embedded = 0;
        return taken;
    }

    /** {encoders this JVM opened, partitions that asked for one}: in local mode the driver's JVM is the executor. */
    public static synchronized int[] counts() {
        return new int[] {opens, partitions};
    }
}
