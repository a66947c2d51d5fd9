package org.ibot4j.trainer.data.shards;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.ibot4j.api.io.CountingOutputStream;

/**
 * Writes a Parquet table of images in one row group: {@code image} (BYTE_ARRAY, the encoded file as
 * it was), {@code label} (INT32, when labelled) and {@code key} (UTF-8 string, the image's name),
 * every column REQUIRED, PLAIN and uncompressed (encoded images do not compress), in pages of about
 * 1 MiB. Images stream to the output as they come; labels and keys are held until {@link #finish()}.
 * Spark, pyarrow and {@link ParquetReader} read it.
 */
public final class ParquetWriter {
    private static final byte[] MAGIC = "PAR1".getBytes(StandardCharsets.US_ASCII);
    private static final int PAGE_BYTES = 1 << 20;

    private final CountingOutputStream out;
    private final boolean labelled;
    private final ChunkWriter images;
    private final List<Integer> labels = new ArrayList<>();
    private final List<String> keys = new ArrayList<>();
    private boolean finished;

    /** Starts a table on {@code out} (written to, not closed); with {@code labelled}, a label column. */
    public ParquetWriter(OutputStream out, boolean labelled) throws IOException {
        this.out = new CountingOutputStream(out);
        this.labelled = labelled;
        this.out.write(MAGIC);
        this.images = new ChunkWriter(ParquetReader.BYTE_ARRAY, this.out.count());
    }

    public void add(String key, byte[] image, int label) throws IOException {
        if (finished) throw new IllegalStateException("the table is finished");
        images.add(plainBinary(image));
        if (labelled) labels.add(label);
        keys.add(key);
    }

    /** Writes the label and key columns and the footer; the stream stays open. */
    public void finish() throws IOException {
        if (finished) return;
        finished = true;
        images.flush();
        List<ChunkWriter> chunks = new ArrayList<>(List.of(images));
        if (labelled) {
            ChunkWriter c = new ChunkWriter(ParquetReader.INT32, out.count());
            for (int l : labels) c.add(new byte[] {(byte) l, (byte) (l >>> 8), (byte) (l >>> 16), (byte) (l >>> 24)});
            c.flush();
            chunks.add(c);
        }
        ChunkWriter k = new ChunkWriter(ParquetReader.BYTE_ARRAY, out.count());
        for (String key : keys) k.add(plainBinary(key.getBytes(StandardCharsets.UTF_8)));
        k.flush();
        chunks.add(k);
        List<String> names = labelled ? List.of("image", "label", "key") : List.of("image", "key");

        Thrift.Writer t = new Thrift.Writer().begin();
        t.i32(1, 1);
        t.structList(2, names.size() + 1);
        t.begin().string(4, "schema").i32(5, names.size()).end();
        for (int i = 0; i < names.size(); i++) {
            t.begin().i32(1, chunks.get(i).type).i32(3, 0).string(4, names.get(i));
            if (names.get(i).equals("key")) t.i32(6, 0);  // UTF8
            t.end();
        }
        t.i64(3, keys.size());
        t.structList(4, 1);
        t.begin().structList(1, chunks.size());
        long total = 0;
        for (int i = 0; i < chunks.size(); i++) {
            ChunkWriter c = chunks.get(i);
            total += c.bytes;
            t.begin().i64(2, c.start).struct(3)
                    .i32(1, c.type).i32List(2, List.of(0, 3)).stringList(3, List.of(names.get(i))).i32(4, 0)
                    .i64(5, c.values).i64(6, c.bytes).i64(7, c.bytes).i64(9, c.start)
                    .end().end();
        }
        t.i64(2, total).i64(3, keys.size()).end();
        t.string(6, "ibot4j");
        byte[] footer = t.end().bytes();
        out.write(footer);
        int n = footer.length;
        out.write(new byte[] {(byte) n, (byte) (n >>> 8), (byte) (n >>> 16), (byte) (n >>> 24)});
        out.write(MAGIC);
        out.flush();
    }

    private static byte[] plainBinary(byte[] value) {
        byte[] b = new byte[4 + value.length];
        int n = value.length;
        b[0] = (byte) n;
        b[1] = (byte) (n >>> 8);
        b[2] = (byte) (n >>> 16);
        b[3] = (byte) (n >>> 24);
        System.arraycopy(value, 0, b, 4, n);
        return b;
    }

    /** One column chunk: PLAIN values gathered into pages. */
    private final class ChunkWriter {
        final int type;
        final long start;
        long values, bytes;
        private final ByteArrayOutputStream page = new ByteArrayOutputStream();
        private int pageValues;

        ChunkWriter(int type, long start) {
            this.type = type;
            this.start = start;
        }

        void add(byte[] plain) throws IOException {
            if (pageValues > 0 && page.size() + plain.length > PAGE_BYTES) flush();
            page.writeBytes(plain);
            pageValues++;
            values++;
        }

        void flush() throws IOException {
            if (pageValues == 0) return;
            byte[] header = new Thrift.Writer().begin().i32(1, 0).i32(2, page.size()).i32(3, page.size())
                    .struct(5).i32(1, pageValues).i32(2, 0).i32(3, 3).i32(4, 3).end()
                    .end().bytes();
            out.write(header);
            page.writeTo(out);
            bytes += header.length + page.size();
            page.reset();
            pageValues = 0;
        }
    }
}
