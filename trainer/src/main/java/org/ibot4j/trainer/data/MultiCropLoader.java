package org.ibot4j.trainer.data;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.ibot4j.api.IbotConfig;
import org.ibot4j.api.TrainBatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Worker threads decode, augment and mask images straight into a ring of reusable off-heap batches,
 * laid out as {@code train_step} reads them, a bounded number ahead of the trainer. Epochs are
 * shuffled, the last partial batch dropped. Crops and masks depend only on (seed, epoch, position in
 * the epoch), never on the number of workers. Unreadable images are skipped (logged once, counted) and
 * replaced by the next readable one. {@link #close()} stops every thread and frees every buffer.
 */
public final class MultiCropLoader implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(MultiCropLoader.class);

    /** A delivered batch: valid until the next call to {@link #next()}. */
    public record Loaded(TrainBatch batch, int epoch, int indexInEpoch, long batchNumber) {}

    private final ImageSource source;
    private final MultiCropAugmentation augmentation;
    private final MaskingPolicy masking;
    private final int patchSize, batchSize;
    private final long seed;
    private final Shard shard;
    private final Arena arena = Arena.ofShared();
    private final TrainBatch[] slots;
    @SuppressWarnings("unchecked")
    private final CompletableFuture<Void>[] pending;
    private final ExecutorService workers;
    private final ConcurrentHashMap<Integer, int[]> orders = new ConcurrentHashMap<>();
    private final Set<Integer> unreadable = ConcurrentHashMap.newKeySet();
    /** The streamed order of sharded data (null for other sources), and its unreadable samples by name. */
    private final ShardStream stream;
    private final Set<String> unreadableSamples = ConcurrentHashMap.newKeySet();
    private final long firstBatch;
    private long held = -1;
    private boolean closed;

    /**
     * Which part of every global batch this process loads. Rank r of N takes the positions
     * {@code (b * batchSize + i) * N + r} of the epoch's order, as PyTorch's DistributedSampler
     * interleaves them, so N ranks with batch B see together the images one rank with batch N*B would.
     *
     * @param rank this process's rank, 0 to worldSize - 1
     * @param worldSize the number of processes
     */
    public record Shard(int rank, int worldSize) {
        /** One process: the whole batch. */
        public static final Shard SINGLE = new Shard(0, 1);

        public Shard {
            if (worldSize < 1 || rank < 0 || rank >= worldSize) {
                throw new IllegalArgumentException("rank " + rank + " is out of range for world size " + worldSize);
            }
        }
    }

    /**
     * @param firstBatch batch number (counted from epoch 0) to start at, for resuming
     */
    public MultiCropLoader(ImageSource source, MultiCropAugmentation augmentation, MaskingPolicy masking, IbotConfig config,
            int batchSize, int numWorkers, int prefetch, long seed, long firstBatch) {
        this(source, augmentation, masking, config, batchSize, numWorkers, prefetch, seed, firstBatch, Shard.SINGLE);
    }

    /**
     * @param batchSize images per step of this process
     * @param firstBatch batch number (counted from epoch 0) to start at, for resuming
     * @param shard this process's part of every global batch
     */
    @SuppressWarnings("unchecked")
    public MultiCropLoader(ImageSource source, MultiCropAugmentation augmentation, MaskingPolicy masking, IbotConfig config,
            int batchSize, int numWorkers, int prefetch, long seed, long firstBatch, Shard shard) {
        if (source.size() < (long) batchSize * shard.worldSize()) {
            throw new IllegalArgumentException("the dataset has " + source.size() + " images, fewer than one batch of " + batchSize
                    + (shard.worldSize() > 1 ? " on each of " + shard.worldSize() + " processes" : ""));
        }
        this.shard = shard;
        this.source = source;
        this.augmentation = augmentation;
        this.masking = masking;
        this.patchSize = config.patchSize();
        this.batchSize = batchSize;
        this.seed = seed;
        this.firstBatch = firstBatch;
        MultiCropAugmentation.Options o = augmentation.options();
        int depth = Math.max(1, prefetch);
        slots = new TrainBatch[depth];
        pending = new CompletableFuture[depth];
        stream = source instanceof ShardedImageSource sharded
                ? new ShardStream(sharded, seed, shard.rank(), shard.worldSize(), batchSize, batchesPerEpoch(), firstBatch, depth) : null;
        for (int i = 0; i < depth; i++) {
            slots[i] = TrainBatch.allocate(arena, config, batchSize, o.nGlobal(), o.nLocal(), o.globalSize(), o.localSize());
        }
        workers = Executors.newFixedThreadPool(Math.max(1, numWorkers), r -> {
            Thread t = new Thread(r, "ibot4j-loader");
            t.setDaemon(true);
            return t;
        });
        for (int i = 0; i < depth; i++) schedule(firstBatch + i);
    }

    /** Worker threads that suit this machine: half the cores (LibTorch's intra-op threads use the rest), at least 1. */
    public static int defaultWorkers() {
        return Math.max(1, Runtime.getRuntime().availableProcessors() / 2);
    }

    /** Steps per epoch: whole global batches (this batch size times the world size); the rest is dropped. */
    public int batchesPerEpoch() {
        return source.size() / (batchSize * shard.worldSize());
    }

    /** Distinct images skipped as unreadable so far. */
    public long skippedImages() {
        return unreadable.size() + unreadableSamples.size();
    }

    /** The next batch, waiting for it if needed; a worker's failure is rethrown here. */
    public Loaded next() {
        if (closed) throw new IllegalStateException("the loader is closed");
        // The batch handed out last is given back: its slot refills with the batch `depth` ahead.
        if (held >= 0) schedule(held + slots.length);
        long number = held >= 0 ? held + 1 : firstBatch;
        int slot = (int) (number % slots.length);
        try {
            pending[slot].get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for data", e);
        } catch (ExecutionException e) {
            throw new IllegalStateException("data loading failed: " + e.getCause().getMessage(), e.getCause());
        }
        held = number;
        int perEpoch = batchesPerEpoch();
        return new Loaded(slots[slot], (int) (number / perEpoch), (int) (number % perEpoch), number);
    }

    private void schedule(long number) {
        int slot = (int) (number % slots.length);
        pending[slot] = CompletableFuture.runAsync(() -> fill(slots[slot], number), workers);
    }

    private void fill(TrainBatch batch, long number) {
        int perEpoch = batchesPerEpoch();
        int epoch = (int) (number / perEpoch), index = (int) (number % perEpoch);
        int[] order = stream == null ? orders.computeIfAbsent(epoch, this::shuffled) : null;
        List<ShardedImageSource.Sample> samples;
        try {
            samples = stream == null ? null : stream.batch(epoch, index);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        MultiCropAugmentation.Options o = augmentation.options();
        int grid = o.globalSize() / patchSize;
        for (int i = 0; i < batchSize; i++) {
            int position = (index * batchSize + i) * shard.worldSize() + shard.rank();
            Prepared p = stream == null ? readable(order, epoch, position, grid) : readable(samples, i, epoch, position, grid);
            for (int c = 0; c < o.nGlobal(); c++) {
                long row = (long) c * batchSize + i;
                augmentation.render(p.image, p.denominator, p.plans.get(c), batch.globalCrops(), row * 3 * o.globalSize() * o.globalSize());
                boolean[] mask = p.masks[c];
                for (int m = 0; m < mask.length; m++) batch.masks().set(ValueLayout.JAVA_BYTE, row * mask.length + m, (byte) (mask[m] ? 1 : 0));
            }
            for (int c = 0; c < o.nLocal(); c++) {
                long row = (long) c * batchSize + i;
                augmentation.render(p.image, p.denominator, p.plans.get(o.nGlobal() + c), batch.localCrops(), row * 3 * o.localSize() * o.localSize());
            }
        }
    }

    /** An image's crops and masks, drawn from its size, and its pixels decoded at the scale they allow. */
    private record Prepared(RgbImage image, int denominator, List<CropPlan> plans, boolean[][] masks) {}

    /**
     * The image at {@code position}, or the next readable one in the epoch's order, with its crops and
     * masks drawn from {@code (seed, epoch, position)} in the official order (global crop then its mask,
     * then the local crops) before the pixels are decoded.
     */
    private Prepared readable(int[] order, int epoch, int position, int grid) {
        for (int k = 0; k < order.length; k++) {
            int index = order[(position + k) % order.length];
            if (unreadable.contains(index)) continue;
            try {
                return prepare(source.open(index), epoch, position, grid);
            } catch (IOException e) {
                if (unreadable.add(index)) {
                    LOG.warn("skipping unreadable image {}: {}", source.describe(index), e.getMessage());
                }
            }
        }
        throw new IllegalStateException("no readable image in the dataset (" + source.size() + " items, e.g. " + source.describe(0) + ")");
    }

    /**
     * Sample {@code i} of a streamed batch, or when it cannot be read the next readable sample of the same
     * batch (so the choice depends on the batch's samples only), with crops and masks as above.
     */
    private Prepared readable(List<ShardedImageSource.Sample> samples, int i, int epoch, int position, int grid) {
        for (int k = 0; k < samples.size(); k++) {
            ShardedImageSource.Sample s = samples.get((i + k) % samples.size());
            if (unreadableSamples.contains(s.where())) continue;
            try {
                return prepare(ImageDecoder.open(s.image(), s.where()), epoch, position, grid);
            } catch (IOException e) {
                if (unreadableSamples.add(s.where())) LOG.warn("skipping unreadable image {}: {}", s.where(), e.getMessage());
            }
        }
        throw new IllegalStateException("no readable image in a whole batch of " + samples.size() + " samples (e.g. " + samples.get(0).where() + ")");
    }

    private Prepared prepare(EncodedImage encoded, int epoch, int position, int grid) throws IOException {
        MultiCropAugmentation.Options o = augmentation.options();
        SplittableRandom random = new SplittableRandom(mix(seed, epoch, position));
        List<CropPlan> plans = new ArrayList<>(o.nGlobal() + o.nLocal());
        boolean[][] masks = new boolean[o.nGlobal()][grid * grid];
        for (int c = 0; c < o.nGlobal(); c++) {
            plans.add(augmentation.planGlobal(encoded.width(), encoded.height(), c, random));
            masking.fill(masks[c], grid, epoch, random);
        }
        for (int c = 0; c < o.nLocal(); c++) plans.add(augmentation.planLocal(encoded.width(), encoded.height(), random));
        int denominator = encoded.scalable() ? MultiCropAugmentation.decodeDenominator(plans) : 1;
        return new Prepared(encoded.decode(denominator), denominator, plans, masks);
    }

    private int[] shuffled(int epoch) {
        int[] order = new int[source.size()];
        for (int i = 0; i < order.length; i++) order[i] = i;
        SplittableRandom random = new SplittableRandom(mix(seed, epoch, -1));
        for (int i = order.length - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int t = order[i]; order[i] = order[j]; order[j] = t;
        }
        orders.keySet().removeIf(e -> e < epoch - 1);
        return order;
    }

    static long mix(long seed, long epoch, long position) {
        long h = seed * 0x9E3779B97F4A7C15L + epoch * 0xC2B2AE3D27D4EB4FL + position * 0x165667B19E3779F9L;
        h ^= h >>> 33;
        h *= 0xFF51AFD7ED558CCDL;
        h ^= h >>> 33;
        return h;
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        workers.shutdownNow();
        try {
            if (!workers.awaitTermination(30, TimeUnit.SECONDS)) LOG.warn("loader threads did not stop within 30 s");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (CompletableFuture<Void> f : pending) {
            if (f != null) f.cancel(true);
        }
        if (stream != null) stream.close();
        arena.close();
    }
}
