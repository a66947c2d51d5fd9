package org.ibot4j.trainer.cli;

import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.ibot4j.api.IbotModel;
import org.ibot4j.api.io.PthReader;
import org.ibot4j.api.io.WeightExchange;
import org.ibot4j.trainer.data.IdxDataset;
import org.ibot4j.trainer.data.ImageDecoder;

/**
 * The child JVM of {@link FileFuzzTest}: reads mutated files listed one per line ({@code id kind path
 * original}) through the code that reads their kind, printing {@code case ID} before each one and
 * {@code done ID OUTCOME} after it, so that a crash of this JVM names the file that caused it. A case
 * that takes longer than {@link #CASE_SECONDS} prints {@code hang ID} and ends the JVM (a stuck thread
 * cannot be stopped); the parent starts a new child for the rest.
 */
public final class FileFuzzCases {
    static final int CASE_SECONDS = 10;
    /**
     * Formats whose files record checksums (zip CRC-32s), so altered content must be refused. Safetensors
     * and IDX have none and PNG's chunk CRCs are not checked by ImageIO: a flipped data bit there reads
     * as other values, which no reader can tell; their headers must still fail cleanly.
     */
    static final Set<String> CHECKSUMMED = Set.of("checkpoint", "pth");

    interface Reader {
        Object read(Path file) throws Exception;
    }

    /** Each reader returns a fingerprint of everything it read, so equal content compares equal. */
    static final Map<String, Reader> READERS = Map.of(
            "checkpoint", f -> {
                try (IbotModel m = IbotModel.open(f, 1)) {
                    StringBuilder out = new StringBuilder();
                    for (String n : m.tensorNames()) out.append(n).append(Arrays.hashCode(m.readTensor(n))).append(';');
                    return out.toString();
                }
            },
            "pth", f -> tensors(WeightExchange.read(f)),
            "safetensors", f -> tensors(WeightExchange.read(f)),
            "idx", f -> {
                IdxDataset d = IdxDataset.read(f.getParent(), "train");
                return Arrays.deepHashCode(d.images()) + ":" + Arrays.hashCode(d.labels()) + ":" + d.rows() + "x" + d.cols();
            },
            "png", f -> {
                var image = ImageDecoder.decode(f);
                return image.width() + "x" + image.height() + ":" + Arrays.deepHashCode(image.planes());
            },
            // The harness's own check: a reader that dies as a native crash would (SIGABRT's exit status).
            "halt", f -> {
                if (!f.getFileName().toString().startsWith("original")) Runtime.getRuntime().halt(134);
                return "";
            });

    private FileFuzzCases() {}

    public static void main(String[] args) throws Exception {
        PrintStream out = System.out;
        List<String> cases = Files.readAllLines(Path.of(args[0]));
        ExecutorService worker = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "fuzz-case");
            t.setDaemon(true);
            return t;
        });
        Map<Path, Object> expected = new HashMap<>();
        for (String line : cases) {
            String[] f = line.split(" ");
            String id = f[0], kind = f[1];
            Path file = Path.of(f[2]), original = Path.of(f[3]);
            Object want = expected.get(original);
            if (want == null) expected.put(original, want = READERS.get(kind).read(original));
            out.println("case " + id);
            out.flush();
            Future<Object> result = worker.submit(() -> READERS.get(kind).read(file));
            String outcome;
            try {
                Object read = result.get(CASE_SECONDS, TimeUnit.SECONDS);
                if (read.equals(want)) outcome = "intact";
                else outcome = CHECKSUMMED.contains(kind) ? "silent" : "unchecked";
            } catch (TimeoutException e) {
                out.println("hang " + id);
                out.flush();
                Runtime.getRuntime().halt(3);
                return;
            } catch (ExecutionException e) {
                outcome = e.getCause() instanceof Error err ? "error " + err.getClass().getSimpleName() : "clean";
            }
            out.println("done " + id + " " + outcome);
            out.flush();
        }
        worker.shutdownNow();
    }

    /** Bit flips, truncation, or a header field set to a huge or negative value. */
    static byte[] mutate(byte[] original, SplittableRandom r) {
        byte[] b = original.clone();
        switch (r.nextInt(3)) {
            case 0 -> {
                int flips = 1 + r.nextInt(8);
                for (int f = 0; f < flips; f++) b[r.nextInt(b.length)] ^= (byte) (1 << r.nextInt(8));
            }
            case 1 -> b = Arrays.copyOf(b, r.nextInt(b.length));
            default -> {
                int at = r.nextInt(Math.min(b.length - 8, r.nextBoolean() ? 24 : 512));  // often the very first fields
                long[] extremes = {Integer.MAX_VALUE, -1, Integer.MIN_VALUE, Long.MAX_VALUE, 1L << 31, 1L << 40};
                ByteBuffer.wrap(b, at, 8).order(r.nextBoolean() ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN)
                        .putLong(extremes[r.nextInt(extremes.length)]);
            }
        }
        return b;
    }

    private static String tensors(Map<String, PthReader.FloatTensor> named) {
        StringBuilder out = new StringBuilder();
        new TreeMap<>(named).forEach((k, t) -> out.append(k).append(Arrays.toString(t.shape())).append(Arrays.hashCode(t.data())).append(';'));
        return out.toString();
    }
}
