package org.ibot4j.trainer.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/** CIFAR-10 binary batches ({@code data_batch_*.bin} or {@code test_batch.bin}): 1 label byte + 3x32x32 bytes each. */
public final class Cifar10Source implements ImageSource {
    private static final int RECORD = 1 + 3 * 32 * 32;
    private final byte[][] records;
    private final List<String> origins = new ArrayList<>();

    private Cifar10Source(byte[][] records) {
        this.records = records;
    }

    /** Every {@code *.bin} batch in {@code dir} whose name starts with {@code prefix} ("data_batch" or "test_batch"). */
    public static Cifar10Source read(Path dir, String prefix) throws IOException {
        List<Path> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.filter(p -> p.getFileName().toString().startsWith(prefix) && p.toString().endsWith(".bin")).sorted().toList();
        }
        if (files.isEmpty()) throw new IOException("no " + prefix + "*.bin CIFAR-10 batches in " + dir);
        List<byte[]> all = new ArrayList<>();
        List<String> origins = new ArrayList<>();
        for (Path f : files) {
            byte[] bytes = Files.readAllBytes(f);
            if (bytes.length % RECORD != 0) throw new IOException(f + " is not a CIFAR-10 batch (" + bytes.length + " bytes, not a multiple of " + RECORD + ")");
            for (int i = 0; i < bytes.length / RECORD; i++) {
                byte[] r = new byte[RECORD];
                System.arraycopy(bytes, i * RECORD, r, 0, RECORD);
                all.add(r);
                origins.add(f.getFileName() + "#" + i);
            }
        }
        Cifar10Source source = new Cifar10Source(all.toArray(new byte[0][]));
        source.origins.addAll(origins);
        return source;
    }

    @Override public int size() { return records.length; }
    @Override public int label(int index) { return records[index][0] & 0xff; }
    @Override public int numClasses() { return 10; }
    @Override public String describe(int index) { return origins.get(index); }

    @Override
    public RgbImage load(int index) {
        RgbImage image = RgbImage.blank(32, 32);
        byte[] r = records[index];
        for (int c = 0; c < 3; c++) {
            for (int i = 0; i < 1024; i++) image.planes()[c][i] = (r[1 + c * 1024 + i] & 0xff) / 255f;
        }
        return image;
    }
}
