package org.ibot4j.trainer.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.ibot4j.api.IbotConfig;
import org.ibot4j.api.IbotModel;
import org.ibot4j.api.Network;
import org.ibot4j.api.io.AtomicFiles;
import org.ibot4j.api.io.WeightExchange;
import org.ibot4j.trainer.data.FashionPngs;
import org.ibot4j.trainer.data.IdxDataset;
import org.ibot4j.trainer.data.IdxDatasetTest;
import org.ibot4j.trainer.data.ImageDecoder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Mutated files through the code that reads them: checkpoints, .pth and .safetensors exports, IDX
 * files and PNG images, with bit flips, truncation and header fields set to huge or negative values.
 * Each case is logged before it runs and must end in an exception (a clean error) or a result equal
 * to the undamaged file's, within 10 s and without an Error (OutOfMemoryError, StackOverflowError).
 * {@code -Dibot4j.fuzz.files=N} (ci/chaos: 1,000).
 */
class FileFuzzTest {
    private static final int CASES = Integer.getInteger("ibot4j.fuzz.files", 200);
    /**
     * Formats whose files record checksums (zip CRC-32s), so altered content must be refused. Safetensors
     * and IDX have none and PNG's chunk CRCs are not checked by ImageIO: a flipped data bit there reads
     * as other values, which no reader can tell; their headers must still fail cleanly.
     */
    private static final java.util.Set<String> CHECKSUMMED = java.util.Set.of("checkpoint", "pth");

    interface Reader {
        Object read(Path file) throws Exception;
    }

    @Test
    void mutatedFilesFailCleanlyInBoundedTimeAndNeverLoadSilently(@TempDir Path dir) throws Exception {
        Map<String, Path> originals = new LinkedHashMap<>();
        try (IbotModel model = IbotModel.create(IbotConfig.builder().imgSize(16).patchSize(4).embedDim(16).depth(1).numHeads(2).outDim(32)
                .patchOutDim(32).hiddenDim(16).bottleneckDim(8).numThreads(1).build())) {
            Path ckpt = dir.resolve("ckpt.ibot4j");
            AtomicFiles.writeToPath(ckpt, tmp -> model.save(tmp, "{}"));
            originals.put("checkpoint", ckpt);
            WeightExchange.export(model, Network.TEACHER, WeightExchange.Format.PTH, dir.resolve("w.pth"));
            WeightExchange.export(model, Network.TEACHER, WeightExchange.Format.SAFETENSORS, dir.resolve("w.safetensors"));
            originals.put("pth", dir.resolve("w.pth"));
            originals.put("safetensors", dir.resolve("w.safetensors"));
        }
        originals.put("idx", idxImages(dir.resolve("idx-original")));
        originals.put("png", FashionPngs.write(dir.resolve("png"), 1).resolve("img0.png"));
        // Each reader returns a fingerprint of everything it read, so equal content compares equal.
        Map<String, Reader> readers = Map.of(
                "checkpoint", f -> {
                    try (IbotModel m = IbotModel.open(f, 1)) {
                        StringBuilder out = new StringBuilder();
                        for (String n : m.tensorNames()) out.append(n).append(java.util.Arrays.hashCode(m.readTensor(n))).append(';');
                        return out.toString();
                    }
                },
                "pth", f -> tensors(WeightExchange.read(f)),
                "safetensors", f -> tensors(WeightExchange.read(f)),
                "idx", f -> {
                    IdxDataset d = IdxDataset.read(f.getParent(), "train");
                    return java.util.Arrays.deepHashCode(d.images()) + ":" + java.util.Arrays.hashCode(d.labels()) + ":" + d.rows() + "x" + d.cols();
                },
                "png", f -> {
                    var image = ImageDecoder.decode(f);
                    return image.width() + "x" + image.height() + ":" + java.util.Arrays.deepHashCode(image.planes());
                });
        Map<String, Object> expected = new LinkedHashMap<>();
        for (var e : originals.entrySet()) expected.put(e.getKey(), readers.get(e.getKey()).read(e.getValue()));

        SplittableRandom random = new SplittableRandom(1000);
        ExecutorService worker = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "fuzz-case");
            t.setDaemon(true);
            return t;
        });
        int clean = 0, intact = 0, unchecked = 0;
        List<String> failures = new ArrayList<>();
        List<String> kinds = new ArrayList<>(originals.keySet());
        try (PrintWriter log = new PrintWriter(Files.newBufferedWriter(dir.resolve("fuzz-files.log")), true)) {
            for (int i = 0; i < CASES; i++) {
                String kind = kinds.get(i % kinds.size());
                Path original = originals.get(kind);
                byte[] bytes = mutate(Files.readAllBytes(original), random);
                Path folder = Files.createDirectories(dir.resolve("case" + i));
                Path file = Files.write(folder.resolve(original.getFileName()), bytes);
                if (kind.equals("idx")) Files.copy(original.resolveSibling("train-labels-idx1-ubyte"), folder.resolve("train-labels-idx1-ubyte"));
                log.println(i + " " + kind + " " + file);
                Future<Object> result = worker.submit(() -> readers.get(kind).read(file));
                try {
                    Object read = result.get(10, TimeUnit.SECONDS);
                    if (same(read, expected.get(kind))) intact++;
                    else if (CHECKSUMMED.contains(kind)) failures.add(i + " " + kind + ": loaded silently with different content");
                    else unchecked++;
                } catch (TimeoutException e) {
                    failures.add(i + " " + kind + ": hang");
                    result.cancel(true);
                } catch (java.util.concurrent.ExecutionException e) {
                    if (e.getCause() instanceof Error err) failures.add(i + " " + kind + ": " + err);
                    else clean++;
                }
                deleteTree(folder);
            }
        } finally {
            worker.shutdownNow();
        }
        System.out.printf("file fuzz: %d cases, %d clean errors, %d read back intact, %d read with other content from formats without a "
                + "checksum (safetensors, IDX, PNG pixels), %d failures%n", CASES, clean, intact, unchecked, failures.size());
        assertThat(failures).isEmpty();
    }

    private static byte[] mutate(byte[] original, SplittableRandom r) {
        byte[] b = original.clone();
        switch (r.nextInt(3)) {
            case 0 -> {
                int flips = 1 + r.nextInt(8);
                for (int f = 0; f < flips; f++) b[r.nextInt(b.length)] ^= (byte) (1 << r.nextInt(8));
            }
            case 1 -> b = java.util.Arrays.copyOf(b, r.nextInt(b.length));
            default -> {  // a header field set to a huge or negative value
                int at = r.nextInt(Math.min(b.length - 8, r.nextBoolean() ? 24 : 512));  // often the very first fields
                long[] extremes = {Integer.MAX_VALUE, -1, Integer.MIN_VALUE, Long.MAX_VALUE, 1L << 31, 1L << 40};
                ByteBuffer.wrap(b, at, 8).order(r.nextBoolean() ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN)
                        .putLong(extremes[r.nextInt(extremes.length)]);
            }
        }
        return b;
    }

    private static boolean same(Object a, Object b) {
        return a.equals(b);
    }

    private static String tensors(Map<String, org.ibot4j.api.io.PthReader.FloatTensor> named) {
        StringBuilder out = new StringBuilder();
        new java.util.TreeMap<>(named).forEach((k, t) -> out.append(k).append(java.util.Arrays.toString(t.shape()))
                .append(java.util.Arrays.hashCode(t.data())).append(';'));
        return out.toString();
    }

    /** 64 real images as uncompressed IDX files. */
    private static Path idxImages(Path folder) throws IOException {
        Files.createDirectories(folder);
        IdxDataset fashion = IdxDataset.read(IdxDatasetTest.FASHION, "t10k").head(64);
        ByteBuffer img = ByteBuffer.allocate(16 + 64 * 28 * 28);
        img.putInt(0x803).putInt(64).putInt(28).putInt(28);
        for (byte[] pixels : fashion.images()) img.put(pixels);
        ByteBuffer lab = ByteBuffer.allocate(8 + 64);
        lab.putInt(0x801).putInt(64);
        for (int label : fashion.labels()) lab.put((byte) label);
        Files.write(folder.resolve("train-labels-idx1-ubyte"), lab.array());
        return Files.write(folder.resolve("train-images-idx3-ubyte"), img.array());
    }

    private static void deleteTree(Path folder) throws IOException {
        try (var files = Files.walk(folder)) {
            for (Path p : files.sorted(java.util.Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }
}
