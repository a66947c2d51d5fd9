package org.ibot4j.trainer.data.shards;

import java.io.ByteArrayInputStream;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.GZIPInputStream;

/**
 * Reads columns of a Parquet file, row by row, without Hadoop: the footer (Thrift compact), then each
 * column chunk's pages one at a time (data pages v1 and v2; PLAIN and dictionary encodings; flat or
 * struct-nested columns, nulls included; uncompressed, Snappy or gzip pages). Enough for a table of
 * image bytes and labels as Spark, pyarrow or {@link ParquetWriter} write it; repeated (list) columns and
 * other codecs and encodings are refused with a sentence.
 */
public final class ParquetReader implements Closeable {
    /** Parquet physical types. */
    public static final int INT32 = 1, INT64 = 2, BYTE_ARRAY = 6;
    private static final byte[] MAGIC = "PAR1".getBytes(StandardCharsets.US_ASCII);
    private static final String[] TYPES = {"BOOLEAN", "INT32", "INT64", "INT96", "FLOAT", "DOUBLE", "BYTE_ARRAY", "FIXED_LEN_BYTE_ARRAY"};
    private static final String[] ENCODINGS = {"PLAIN", "GROUP_VAR_INT", "PLAIN_DICTIONARY", "RLE", "BIT_PACKED", "DELTA_BINARY_PACKED",
        "DELTA_LENGTH_BYTE_ARRAY", "DELTA_BYTE_ARRAY", "RLE_DICTIONARY", "BYTE_STREAM_SPLIT"};
    private static final String[] CODECS = {"UNCOMPRESSED", "SNAPPY", "GZIP", "LZO", "BROTLI", "LZ4", "ZSTD", "LZ4_RAW"};

    /** A leaf column: its dotted path, physical type and level maxima. */
    public record Column(String path, int type, int maxDefinition, int maxRepetition) {
        public String typeName() {
            return type >= 0 && type < TYPES.length ? TYPES[type] : "type " + type;
        }
    }

    private final Path file;
    private final FileChannel channel;
    private final List<Column> columns = new ArrayList<>();
    private final List<Thrift.Struct> rowGroups;
    private final long rows;

    public ParquetReader(Path file) throws IOException {
        this.file = file;
        this.channel = FileChannel.open(file, StandardOpenOption.READ);
        try {
            long size = channel.size();
            if (size < 12) throw new IOException(file + " is not a Parquet file (" + size + " bytes)");
            byte[] tail = read(size - 8, 8);
            if (!startsWith(tail, 4, MAGIC) || !startsWith(read(0, 4), 0, MAGIC)) {
                throw new IOException(file + " is not a Parquet file (no PAR1 marks at its start and end; truncated?)");
            }
            long footerLength = (tail[0] & 0xffL) | (tail[1] & 0xffL) << 8 | (tail[2] & 0xffL) << 16 | (tail[3] & 0xffL) << 24;
            if (footerLength <= 0 || footerLength > size - 12) throw new IOException(file + ": a damaged Parquet footer length " + footerLength);
            Thrift.Struct meta = new Thrift.Reader(read(size - 8 - footerLength, (int) footerLength), 0).struct();
            schema(meta.structs(2));
            rowGroups = meta.structs(4);
            rows = meta.i64(3, 0);
        } catch (IOException | RuntimeException e) {
            channel.close();
            if (e instanceof IOException io && io.getMessage() != null && io.getMessage().startsWith(file.toString())) throw io;
            throw new IOException(file + ": " + e.getMessage(), e);
        }
    }

    public Path file() {
        return file;
    }

    public long rows() {
        return rows;
    }

    public List<Column> columns() {
        return columns;
    }

    /** The column at a dotted path, or null. */
    public Column column(String path) {
        for (Column c : columns) if (c.path.equals(path)) return c;
        return null;
    }

    /** A cursor over every value of {@code column}, row by row through the row groups. */
    public Values values(Column column) throws IOException {
        if (column.maxRepetition > 0) throw new IOException(file + ": the column " + column.path + " is repeated (a list); give a column with one value a row");
        if (column.type != BYTE_ARRAY && column.type != INT32 && column.type != INT64) {
            throw new IOException(file + ": the column " + column.path + " is " + column.typeName() + "; ibot4j reads BYTE_ARRAY, INT32 and INT64 columns");
        }
        return new Values(column);
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }

    private void schema(List<Thrift.Struct> elements) throws IOException {
        if (elements.isEmpty()) throw new IOException("a Parquet footer without a schema");
        int[] at = {1};
        int children = elements.get(0).i32(5, 0);
        for (int i = 0; i < children; i++) walk(elements, at, "", 0, 0);
    }

    private void walk(List<Thrift.Struct> elements, int[] at, String prefix, int def, int rep) throws IOException {
        if (at[0] >= elements.size()) throw new IOException("a Parquet schema with fewer elements than it declares");
        Thrift.Struct e = elements.get(at[0]++);
        String name = prefix + e.string(4);
        int repetition = e.i32(3, 0);
        int d = def + (repetition == 1 ? 1 : 0), r = rep + (repetition == 2 ? 1 : 0);
        int children = e.i32(5, 0);
        if (children == 0 && !e.fields().containsKey(5)) {
            columns.add(new Column(name, e.i32(1, -1), d, r));
            return;
        }
        for (int i = 0; i < children; i++) walk(elements, at, name + ".", d, r);
    }

    private byte[] read(long position, int length) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(length);
        while (buffer.hasRemaining()) {
            int n = channel.read(buffer, position + buffer.position());
            if (n < 0) throw new IOException(file + " ends at byte " + (position + buffer.position()) + " inside a Parquet page (truncated?)");
        }
        return buffer.array();
    }

    private static boolean startsWith(byte[] bytes, int offset, byte[] prefix) {
        for (int i = 0; i < prefix.length; i++) if (bytes[offset + i] != prefix[i]) return false;
        return true;
    }

    /** The values of one column: byte[] or Long per row, null for a null. */
    public final class Values {
        private final Column column;
        private final int index;
        private int group = -1;
        private long chunkValues, chunkRead, position;
        private int codec;
        private Object[] dictionary;
        // the current data page
        private byte[] page;
        private int pageValues, pageRead, valueAt;
        private int[] definitions, dictionaryIndices;
        private int dictionaryAt;

        private Values(Column column) {
            this.column = column;
            this.index = columns.indexOf(column);
        }

        /** The next row's value; at the end of the file, an IOException. */
        public Object next() throws IOException {
            while (pageRead >= pageValues) nextPage();
            int i = pageRead++;
            if (definitions != null && definitions[i] < column.maxDefinition) return null;
            if (dictionaryIndices != null) {
                int d = dictionaryIndices[dictionaryAt++];
                if (dictionary == null || d < 0 || d >= dictionary.length) throw new IOException(where() + ": a dictionary index out of range");
                return dictionary[d];
            }
            return plain();
        }

        private Object plain() throws IOException {
            if (column.type == BYTE_ARRAY) {
                int n = le32(page, valueAt);
                if (n < 0 || valueAt + 4 + n > page.length) throw new IOException(where() + ": a value runs past its page");
                byte[] v = new byte[n];
                System.arraycopy(page, valueAt + 4, v, 0, n);
                valueAt += 4 + n;
                return v;
            }
            int width = column.type == INT32 ? 4 : 8;
            if (valueAt + width > page.length) throw new IOException(where() + ": a value runs past its page");
            long v = column.type == INT32 ? le32(page, valueAt) : (le32(page, valueAt) & 0xffffffffL) | ((long) le32(page, valueAt + 4) << 32);
            valueAt += width;
            return v;
        }

        private String where() {
            return file + " column " + column.path + " row group " + group;
        }

        private void nextPage() throws IOException {
            while (chunkRead >= chunkValues) {
                if (++group >= rowGroups.size()) throw new IOException(file + ": column " + column.path + " has fewer values than the file has rows");
                List<Thrift.Struct> chunks = rowGroups.get(group).structs(1);
                if (index >= chunks.size()) throw new IOException(file + ": row group " + group + " lacks column " + column.path);
                Thrift.Struct meta = chunks.get(index).struct(3);
                if (meta == null) throw new IOException(where() + ": no column metadata (a separate file?)");
                codec = meta.i32(4, 0);
                if (codec != 0 && codec != 1 && codec != 2) {
                    throw new IOException(where() + " is compressed with " + (codec < CODECS.length ? CODECS[codec] : "codec " + codec)
                            + "; ibot4j reads uncompressed, Snappy (Spark's and pyarrow's default) and gzip Parquet");
                }
                chunkValues = meta.i64(5, 0);
                chunkRead = 0;
                long data = meta.i64(9, -1), dict = meta.i64(11, -1);
                position = dict > 0 && dict < data ? dict : data;
                dictionary = null;
            }
            Thrift.Struct header = header();
            int type = header.i32(1, -1), uncompressed = header.i32(2, 0), compressed = header.i32(3, 0);
            if (compressed < 0 || uncompressed < 0) throw new IOException(where() + ": a page of negative size");
            byte[] raw = read(position, compressed);
            position += compressed;
            if (type == 2) {
                Thrift.Struct d = header.struct(7);
                dictionary = plainValues(decompress(raw, 0, compressed, uncompressed), d == null ? 0 : d.i32(1, 0));
                return;
            }
            if (type == 0) {
                Thrift.Struct h = header.struct(5);
                if (h == null) throw new IOException(where() + ": a data page without its header");
                page = decompress(raw, 0, compressed, uncompressed);
                pageValues = h.i32(1, 0);
                int at = 0;
                definitions = null;
                if (column.maxDefinition > 0) {
                    int n = le32(page, 0);
                    definitions = Rle.decode(page, 4, n, bitWidth(column.maxDefinition), pageValues);
                    at = 4 + n;
                }
                startValues(h.i32(2, 0), at);
            } else if (type == 3) {
                Thrift.Struct h = header.struct(8);
                if (h == null) throw new IOException(where() + ": a data page without its header");
                pageValues = h.i32(1, 0);
                int defLength = h.i32(5, 0), repLength = h.i32(6, 0);
                int levels = defLength + repLength;
                if (levels > compressed) throw new IOException(where() + ": page levels longer than the page");
                definitions = column.maxDefinition > 0 ? Rle.decode(raw, repLength, defLength, bitWidth(column.maxDefinition), pageValues) : null;
                byte[] values = h.bool(7, true) ? decompress(raw, levels, compressed - levels, uncompressed - levels)
                        : Arrays.copyOfRange(raw, levels, compressed);
                page = values;
                startValues(h.i32(4, 0), 0);
            } else {
                return;  // an index page: nothing to read
            }
            pageRead = 0;
            chunkRead += pageValues;
        }

        private void startValues(int encoding, int at) throws IOException {
            valueAt = at;
            dictionaryIndices = null;
            if (encoding == 2 || encoding == 8) {
                int nonNull = pageValues;
                if (definitions != null) {
                    nonNull = 0;
                    for (int d : definitions) if (d == column.maxDefinition) nonNull++;
                }
                if (at >= page.length && nonNull > 0) throw new IOException(where() + ": a dictionary page ends early");
                int width = nonNull == 0 ? 0 : page[at] & 0xff;
                dictionaryIndices = nonNull == 0 ? new int[0] : Rle.decode(page, at + 1, page.length - at - 1, width, nonNull);
                dictionaryAt = 0;
            } else if (encoding != 0) {
                throw new IOException(where() + " uses the " + (encoding >= 0 && encoding < ENCODINGS.length ? ENCODINGS[encoding] : "unknown " + encoding)
                        + " encoding; ibot4j reads PLAIN and dictionary-encoded pages (Parquet's v1 writer, Spark's default)");
            }
        }

        private Object[] plainValues(byte[] bytes, int n) throws IOException {
            byte[] saved = page;
            int savedAt = valueAt;
            page = bytes;
            valueAt = 0;
            Object[] values = new Object[n];
            for (int i = 0; i < n; i++) values[i] = plain();
            page = saved;
            valueAt = savedAt;
            return values;
        }

        private Thrift.Struct header() throws IOException {
            for (int length = 1024; ; length *= 4) {
                long available = channel.size() - position;
                int n = (int) Math.min(length, available);
                if (n <= 0) throw new IOException(where() + ": the file ends where a page should start (truncated?)");
                try {
                    Thrift.Reader reader = new Thrift.Reader(read(position, n), 0);
                    Thrift.Struct h = reader.struct();
                    position += reader.position();
                    return h;
                } catch (IOException e) {
                    if (n == available || length > 1 << 26) throw new IOException(where() + ": a damaged page header (" + e.getMessage() + ")", e);
                }
            }
        }

        private byte[] decompress(byte[] raw, int offset, int length, int uncompressed) throws IOException {
            return switch (codec) {
                case 0 -> offset == 0 && length == raw.length ? raw : Arrays.copyOfRange(raw, offset, offset + length);
                case 1 -> Snappy.decompress(raw, offset, length, uncompressed);
                default -> {
                    try (GZIPInputStream in = new GZIPInputStream(new ByteArrayInputStream(raw, offset, length))) {
                        byte[] out = in.readNBytes(uncompressed);
                        if (out.length != uncompressed) throw new IOException(where() + ": a gzip page shorter than its header says");
                        yield out;
                    }
                }
            };
        }
    }

    static int bitWidth(int max) {
        return 32 - Integer.numberOfLeadingZeros(max);
    }

    static int le32(byte[] b, int at) throws IOException {
        if (at < 0 || at + 4 > b.length) throw new IOException("a Parquet page ends early");
        return (b[at] & 0xff) | (b[at + 1] & 0xff) << 8 | (b[at + 2] & 0xff) << 16 | (b[at + 3] & 0xff) << 24;
    }
}
