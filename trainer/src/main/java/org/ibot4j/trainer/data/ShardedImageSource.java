package org.ibot4j.trainer.data;

import java.io.Closeable;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;

/**
 * Images kept in shards, files read front to back (WebDataset tars, Parquet tables). Nothing lists the
 * images: opening counts each shard's samples (one int per shard), and training streams the shards
 * through {@link ShardStream} with a shuffle buffer instead of indexing images. The index-based
 * {@link ImageSource} methods work too, for evaluation and previews, reading on from the last item
 * asked for: fast in order, slow at random.
 */
public abstract class ShardedImageSource implements ImageSource {
    /** Samples held to shuffle by default, over all lanes of the stream together. */
    public static final int DEFAULT_SHUFFLE_BUFFER = 1000;

    /** One sample of a shard: its encoded image (null when the shard has none for it), label (-1: none) and where it is. */
    public record Sample(byte[] image, int label, String where) {}

    /** One shard's samples, front to back. */
    public interface SampleReader extends Closeable {
        /** The next sample, or null after the last. */
        Sample next() throws IOException;
    }

    /** What counting a shard found: its samples and largest label (-1: unlabelled). */
    protected record Count(int samples, int maxLabel) {}

    private final List<Path> files;
    private final int shuffleBuffer;
    private int[] counts;
    private long[] starts;
    private int total, numClasses;
    // The index-based view reads on from here.
    private SampleReader cursor;
    private int cursorShard = -1, cursorNext;
    private int lastIndex = -1;
    private Sample last;

    protected ShardedImageSource(List<Path> files, int shuffleBuffer) {
        if (files.isEmpty()) throw new IllegalArgumentException("no shards given");
        if (shuffleBuffer < 1) throw new IllegalArgumentException("--shuffle_buffer must be at least 1, not " + shuffleBuffer);
        this.files = List.copyOf(files);
        this.shuffleBuffer = shuffleBuffer;
    }

    /** Counts every shard; called once, at the end of the subclass's constructor. */
    protected final void countShards() throws IOException {
        counts = new int[files.size()];
        starts = new long[files.size() + 1];
        int maxLabel = -1;
        for (int i = 0; i < files.size(); i++) {
            Count c = count(files.get(i));
            counts[i] = c.samples();
            starts[i + 1] = starts[i] + c.samples();
            maxLabel = Math.max(maxLabel, c.maxLabel());
        }
        if (starts[files.size()] > Integer.MAX_VALUE) {
            throw new IOException("the shards hold " + starts[files.size()] + " samples, more than " + Integer.MAX_VALUE + " this trainer counts");
        }
        total = (int) starts[files.size()];
        if (total == 0) throw new IOException("the shards hold no images (" + files.size() + " shard(s), e.g. " + files.get(0) + ")");
        numClasses = maxLabel + 1;
    }

    /** Reads a shard through once to count its samples (without decoding images) and find its largest label. */
    protected abstract Count count(Path shard) throws IOException;

    /** Reads {@code shard}'s samples front to back, the same samples {@link #count} counted. */
    public abstract SampleReader read(Path shard) throws IOException;

    /** What kind of shards, for messages ("WebDataset", "Parquet"). */
    public abstract String format();

    public List<Path> shards() {
        return files;
    }

    /** Samples in shard {@code i}. */
    public int samples(int i) {
        return counts[i];
    }

    /** Samples the training stream holds to shuffle, over all its lanes. */
    public int shuffleBuffer() {
        return shuffleBuffer;
    }

    /**
     * The data's fingerprint: shard names (not their folder), sizes and sample counts, so no shard is read
     * again to compute it.
     */
    public String fingerprint() {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            sha.update((format() + " " + files.size() + " " + total + " " + numClasses + "\n").getBytes(StandardCharsets.UTF_8));
            for (int i = 0; i < files.size(); i++) {
                long bytes = Files.size(files.get(i));
                sha.update((files.get(i).getFileName() + " " + bytes + " " + counts[i] + "\n").getBytes(StandardCharsets.UTF_8));
            }
            return HexFormat.of().formatHex(sha.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("this JVM has no SHA-256", e);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read the size of a shard: " + e.getMessage(), e);
        }
    }

    @Override public int size() { return total; }
    @Override public int numClasses() { return numClasses; }

    /** The sample's class; a shard that cannot be read here (it was counted whole) is an error, not an unlabelled sample. */
    @Override
    public int label(int index) {
        try {
            return sampleAt(index).label();
        } catch (IOException e) {
            throw new IllegalStateException("cannot read the class of " + describe(index) + ": " + e.getMessage(), e);
        }
    }

    @Override
    public RgbImage load(int index) throws IOException {
        return open(index).decode(1);
    }

    @Override
    public EncodedImage open(int index) throws IOException {
        Sample s = sampleAt(index);
        return ImageDecoder.open(s.image(), s.where());
    }

    /** The sample's shard and member (row) when it was the last one read, as {@code embed} names it; else the shard and its place. */
    @Override
    public String describe(int index) {
        int shard = shardOf(index);
        synchronized (this) {
            if (index == lastIndex && last != null) {
                Path folder = files.get(shard).getParent();
                return folder == null ? last.where() : folder.resolve(last.where()).toString();
            }
        }
        return files.get(shard) + " sample " + (index - starts[shard]);
    }

    @Override
    public String identify(int index) {
        int shard = shardOf(index);
        return files.get(shard).getFileName() + "#" + (index - starts[shard]);
    }

    private int shardOf(int index) {
        if (index < 0 || index >= total) throw new IndexOutOfBoundsException(index + " outside [0, " + total + ")");
        int at = Arrays.binarySearch(starts, index);
        int shard = at >= 0 ? at : -at - 2;
        while (counts[shard] == 0 || index >= starts[shard + 1]) shard++;  // empty shards share a start
        return shard;
    }

    private synchronized Sample sampleAt(int index) throws IOException {
        if (index == lastIndex) return last;
        int shard = shardOf(index);
        int k = (int) (index - starts[shard]);
        if (shard != cursorShard || k < cursorNext) {
            closeCursor();
            cursor = read(files.get(shard));
            cursorShard = shard;
            cursorNext = 0;
        }
        Sample s = null;
        while (cursorNext <= k) {
            s = cursor.next();
            if (s == null) {
                closeCursor();
                throw new IOException(files.get(shard) + " ends after " + k + " samples, but held " + counts[shard] + " when counted: did it change?");
            }
            cursorNext++;
        }
        lastIndex = index;
        last = s;
        return s;
    }

    private void closeCursor() throws IOException {
        if (cursor != null) cursor.close();
        cursor = null;
        cursorShard = -1;
    }
}
