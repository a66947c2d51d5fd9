package org.ibot4j.trainer.eval;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.function.IntConsumer;
import java.util.stream.IntStream;
import org.ibot4j.api.IbotModel;
import org.ibot4j.api.Network;
import org.ibot4j.trainer.data.ImageSource;
import org.ibot4j.trainer.data.MultiCropAugmentation;

/**
 * The linear probe's input, as eval_linear.py builds it from get_intermediate_layers: with
 * avgpool_patchtokens 0 the normed CLS tokens of the last n blocks, concatenated; with 1 the mean of
 * the last block's patch tokens alone (the official model then has no final norm); with 2 both,
 * CLS tokens first, then the mean of the last block's normed patch tokens.
 */
public final class ProbeFeatures {
    /** Writes image {@code index} (normalised CHW floats) into {@code out} at {@code floatOffset}. */
    @FunctionalInterface
    public interface View {
        void write(int index, MemorySegment out, long floatOffset) throws IOException;
    }

    private static final int CHUNK = 256;

    private final IbotModel model;
    private final Network which;
    private final int nLastBlocks, avgpool, embedDim;

    public ProbeFeatures(IbotModel model, Network which, int nLastBlocks, int avgpool) {
        int depth = model.config().depth();
        if (nLastBlocks < 1 || nLastBlocks > depth) {
            throw new IllegalArgumentException("--n_last_blocks must be in 1.." + depth + " (the checkpoint's depth), got " + nLastBlocks);
        }
        if (avgpool < 0 || avgpool > 2) throw new IllegalArgumentException("--avgpool_patchtokens must be 0, 1 or 2, got " + avgpool);
        this.model = model;
        this.which = which;
        this.nLastBlocks = nLastBlocks;
        this.avgpool = avgpool;
        this.embedDim = model.config().embedDim();
    }

    /** Width of a feature: embed_dim x (n_last_blocks when CLS tokens are used, + 1 with the patch mean), as eval_linear.py. */
    public int dim() {
        return embedDim * ((avgpool != 1 ? nLastBlocks : 0) + (avgpool > 0 ? 1 : 0));
    }

    /**
     * Features of images {@code indices} of a view ({@code size} px squares), in that order. Views are
     * written by all cores into a shared buffer; the model is called from this (its owner) thread.
     */
    public float[][] of(int[] indices, View view, int size, IntConsumer done) throws IOException {
        long perImage = 3L * size * size;
        float[][] out = new float[indices.length][];
        try (Arena arena = Arena.ofShared()) {
            MemorySegment images = arena.allocate(ValueLayout.JAVA_FLOAT, Math.min(CHUNK, Math.max(1, indices.length)) * perImage);
            for (int start = 0; start < indices.length; start += CHUNK) {
                int n = Math.min(CHUNK, indices.length - start), first = start;
                try {
                    IntStream.range(0, n).parallel().forEach(i -> {
                        try {
                            view.write(indices[first + i], images, i * perImage);
                        } catch (IOException e) {
                            throw new UncheckedIOException(e);
                        }
                    });
                } catch (UncheckedIOException e) {
                    throw e.getCause();
                }
                float[][] rows = batch(images.asSlice(0, n * perImage * Float.BYTES), n, size);
                System.arraycopy(rows, 0, out, start, n);
                done.accept(start + n);
            }
        }
        return out;
    }

    /** Features of the centred evaluation view of every image of {@code data}; {@code done} hears how many are finished. */
    public float[][] centred(ImageSource data, MultiCropAugmentation views, int size,
            IntConsumer done) throws IOException {
        return of(IntStream.range(0, data.size()).toArray(), (i, out, offset) -> views.centre(data.load(i), size, out, offset), size, done);
    }

    private float[][] batch(MemorySegment images, int n, int size) {
        try (Arena arena = Arena.ofConfined()) {
            return batch(images, n, size, arena);
        }
    }

    private float[][] batch(MemorySegment images, int n, int size, Arena arena) {
        boolean cls = avgpool != 1, mean = avgpool > 0;
        MemorySegment outCls = cls ? arena.allocate(ValueLayout.JAVA_FLOAT, (long) n * nLastBlocks * embedDim) : MemorySegment.NULL;
        MemorySegment outMean = mean ? arena.allocate(ValueLayout.JAVA_FLOAT, (long) n * embedDim) : MemorySegment.NULL;
        model.intermediateFeatures(which, images, n, size, size, nLastBlocks, avgpool == 2, outCls, outMean);
        float[][] rows = new float[n][dim()];
        int clsWidth = cls ? nLastBlocks * embedDim : 0;
        for (int i = 0; i < n; i++) {
            if (cls) MemorySegment.copy(outCls, ValueLayout.JAVA_FLOAT, (long) i * clsWidth * Float.BYTES, rows[i], 0, clsWidth);
            if (mean) MemorySegment.copy(outMean, ValueLayout.JAVA_FLOAT, (long) i * embedDim * Float.BYTES, rows[i], clsWidth, embedDim);
        }
        return rows;
    }
}
