package org.ibot4j.trainer.data;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The training order of a {@link ShardedImageSource}, streamed: a function of (seed, epoch, position)
 * only, as the folder loader's order is, so a resumed run reads what an uninterrupted one reads and N
 * ranks with batch B read together what one rank with batch N*B reads.
 *
 * <p>Each epoch shuffles the (non-empty) shards and deals them to {@value #LANES} lanes (fewer when
 * there are fewer shards): lane l reads shards l, l + L, l + 2L, ... of that order one after another,
 * each sample passing through the lane's shuffle buffer (the buffer size over L). Position p of the
 * epoch is sample p / L of lane p % L. Rank r of N takes the positions {@code (b * B + i) * N + r}, so
 * when N divides L a rank only ever opens its own lanes' shards; otherwise ranks share lanes and read
 * past each other's samples. A lane that runs out before the epoch ends starts over on its shards (lanes
 * differ by up to a shard's samples; an epoch is the whole samples over the global batch, as for
 * folders). Resuming mid-epoch replays the lanes from the epoch's start, reading but not decoding.
 */
final class ShardStream implements AutoCloseable {
    /** Lanes per epoch: a rank count that divides it reads disjoint shards. */
    static final int LANES = 16;
    private static final Logger LOG = LoggerFactory.getLogger(ShardStream.class);

    private final ShardedImageSource source;
    private final List<Integer> nonEmpty = new ArrayList<>();
    private final int lanes, laneBuffer;
    private final long seed;
    private final int rank, world, batchSize, perEpoch, keepEpochs;
    private final long firstBatch;
    private final ConcurrentHashMap<Integer, Lane[]> epochs = new ConcurrentHashMap<>();
    private volatile boolean closed;

    ShardStream(ShardedImageSource source, long seed, int rank, int world, int batchSize, int perEpoch, long firstBatch, int keepEpochs) {
        this.source = source;
        for (int i = 0; i < source.shards().size(); i++) if (source.samples(i) > 0) nonEmpty.add(i);
        this.lanes = Math.min(LANES, nonEmpty.size());
        this.laneBuffer = Math.max(1, (source.shuffleBuffer() + lanes - 1) / lanes);
        this.seed = seed;
        this.rank = rank;
        this.world = world;
        this.batchSize = batchSize;
        this.perEpoch = perEpoch;
        this.firstBatch = firstBatch;
        this.keepEpochs = keepEpochs;
        if (world > 1 && lanes % world != 0) {
            LOG.info("{} lanes of shards over {} ranks: ranks share lanes and each reads {} of the {} lanes", lanes, world,
                    lanes / gcd(lanes, world), lanes);
        }
    }

    /** The samples of this rank's batch {@code index} of {@code epoch}, in batch order. */
    List<ShardedImageSource.Sample> batch(int epoch, int index) throws IOException {
        Lane[] epochLanes = lanesOf(epoch);
        List<ShardedImageSource.Sample> samples = new ArrayList<>(batchSize);
        for (int i = 0; i < batchSize; i++) {
            long position = ((long) index * batchSize + i) * world + rank;
            int l = (int) (position % lanes);
            Lane lane;
            synchronized (epochLanes) {
                if (epochLanes[l] == null) epochLanes[l] = new Lane(epoch, l, shardsOfLane(epoch, l));
                lane = epochLanes[l];
            }
            samples.add(lane.take(position / lanes));
        }
        return samples;
    }

    /** The lanes of {@code epoch}, made on first use; epochs no batch in flight can reach any more are closed. */
    private Lane[] lanesOf(int epoch) {
        Lane[] found = epochs.get(epoch);
        if (found != null) return found;
        synchronized (epochs) {
            found = epochs.get(epoch);
            if (found != null) return found;
            for (Integer old : List.copyOf(epochs.keySet())) {
                if (old < epoch - keepEpochs) closeLanes(epochs.remove(old));
            }
            found = new Lane[lanes];
            epochs.put(epoch, found);
            return found;
        }
    }

    /** The shards lane {@code l} reads in {@code epoch}: every L-th of the epoch's shuffled order. */
    private List<Integer> shardsOfLane(int epoch, int l) {
        int[] order = nonEmpty.stream().mapToInt(Integer::intValue).toArray();
        SplittableRandom random = new SplittableRandom(MultiCropLoader.mix(seed, epoch, -2));
        for (int i = order.length - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int t = order[i]; order[i] = order[j]; order[j] = t;
        }
        List<Integer> mine = new ArrayList<>();
        for (int i = l; i < order.length; i += lanes) mine.add(order[i]);
        return mine;
    }

    private static int gcd(int a, int b) {
        return b == 0 ? a : gcd(b, a % b);
    }

    @Override
    public void close() {
        closed = true;
        for (Lane[] l : epochs.values()) closeLanes(l);
        epochs.clear();
    }

    private static void closeLanes(Lane[] lanes) {
        if (lanes == null) return;
        for (Lane lane : lanes) if (lane != null) lane.close();
    }

    /** One lane of one epoch: its shards in turn, through its shuffle buffer. */
    private final class Lane {
        private final int epoch, index;
        private final List<Integer> shards;
        private final SplittableRandom random;
        private final List<ShardedImageSource.Sample> buffer = new ArrayList<>();
        /** Samples emitted but not yet taken, by their index in the lane; only this rank's. */
        private final Map<Long, ShardedImageSource.Sample> waiting = new HashMap<>();
        private final int capacity;
        /** Before this lane index, no batch of this loader asks (a resumed start). */
        private final long firstWanted;
        private ShardedImageSource.SampleReader reader;
        private int shardAt = -1;
        private long emitted;

        Lane(int epoch, int index, List<Integer> shards) {
            this.epoch = epoch;
            this.index = index;
            this.shards = shards;
            this.random = new SplittableRandom(MultiCropLoader.mix(seed, epoch, -3 - index));
            long laneSamples = 0;
            for (int shard : shards) laneSamples += source.samples(shard);
            this.capacity = (int) Math.min(laneBuffer, Math.max(1, laneSamples));
            long firstPosition = epoch == firstBatch / perEpoch ? (firstBatch % perEpoch) * batchSize * world : 0;
            this.firstWanted = Math.max(0, (firstPosition - index + lanes - 1) / lanes);
        }

        synchronized ShardedImageSource.Sample take(long k) throws IOException {
            while (!waiting.containsKey(k)) {
                if (emitted > k) throw new IllegalStateException("lane " + index + " of epoch " + epoch + " was asked for sample " + k + " twice");
                emit();
            }
            return waiting.remove(k);
        }

        private void emit() throws IOException {
            while (buffer.size() < capacity) buffer.add(input());
            int j = random.nextInt(buffer.size());
            ShardedImageSource.Sample out = buffer.get(j);
            buffer.set(j, input());
            long k = emitted++;
            if (k >= firstWanted && (index + k * lanes) % world == rank) waiting.put(k, out);
        }

        private ShardedImageSource.Sample input() throws IOException {
            int opened = 0;
            while (true) {
                if (closed) throw new IOException("the loader is closed");
                if (reader != null) {
                    ShardedImageSource.Sample s = reader.next();
                    if (s != null) return s;
                    reader.close();
                    reader = null;
                }
                if (++opened > shards.size() + 1) {
                    throw new IOException("the shards of lane " + index + " yield no samples, though they held some when counted: "
                            + shards.stream().map(i -> source.shards().get(i).toString()).toList());
                }
                shardAt = (shardAt + 1) % shards.size();
                reader = source.read(source.shards().get(shards.get(shardAt)));
            }
        }

        synchronized void close() {
            try {
                if (reader != null) reader.close();
            } catch (IOException e) {
                LOG.debug("closing a shard: {}", e.toString());
            }
            reader = null;
        }
    }
}
