package org.ibot4j.trainer.data;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.ibot4j.trainer.data.shards.ParquetReader;

/**
 * Parquet shards: a table per file with a column of encoded image bytes and, optionally, one of integer
 * classes ({@link ShardOptions} names them). A row whose image is null is a sample with no image, which
 * the loader skips as unreadable; a null class is unlabelled. Every file must have the columns, with
 * those types: a file that does not is refused, naming it and the columns it has.
 */
public final class ParquetSource extends ShardedImageSource {
    private final String imageColumn, labelColumn;
    private final boolean labelRequired;

    public ParquetSource(List<Path> shards, ShardOptions options) throws IOException {
        super(shards, options.shuffleBuffer());
        this.imageColumn = options.imageColumn();
        this.labelColumn = options.labelColumn().isEmpty() ? "label" : options.labelColumn();
        this.labelRequired = !options.labelColumn().isEmpty();
        countShards();
    }

    @Override
    public String format() {
        return "Parquet";
    }

    @Override
    protected Count count(Path shard) throws IOException {
        try (ParquetReader reader = new ParquetReader(shard)) {
            ParquetReader.Column image = imageColumn(reader);
            ParquetReader.Column label = labelColumn(reader);
            if (reader.rows() > Integer.MAX_VALUE) throw new IOException(shard + " has " + reader.rows() + " rows, more than one shard may hold");
            int maxLabel = -1;
            if (label != null) {
                ParquetReader.Values values = reader.values(label);
                for (long i = 0; i < reader.rows(); i++) maxLabel = Math.max(maxLabel, label(values.next()));
            }
            reader.values(image);  // refuses what it cannot read (a list column) now rather than mid-run
            return new Count((int) reader.rows(), maxLabel);
        }
    }

    @Override
    public SampleReader read(Path shard) throws IOException {
        ParquetReader reader = new ParquetReader(shard);
        try {
            ParquetReader.Values images = reader.values(imageColumn(reader));
            ParquetReader.Column label = labelColumn(reader);
            ParquetReader.Values labels = label == null ? null : reader.values(label);
            String name = shard.getFileName().toString();
            return new SampleReader() {
                private long row;

                @Override
                public Sample next() throws IOException {
                    if (row >= reader.rows()) return null;
                    byte[] image = (byte[]) images.next();
                    int l = labels == null ? -1 : label(labels.next());
                    return new Sample(image, l, name + ":row " + row++);
                }

                @Override
                public void close() throws IOException {
                    reader.close();
                }
            };
        } catch (IOException | RuntimeException e) {
            reader.close();
            throw e;
        }
    }

    private static int label(Object value) {
        if (!(value instanceof Long l) || l < 0 || l > Integer.MAX_VALUE - 1) return -1;
        return (int) (long) l;
    }

    private ParquetReader.Column imageColumn(ParquetReader reader) throws IOException {
        ParquetReader.Column c;
        if (imageColumn.isEmpty()) {
            c = reader.column("image");
            if (c == null) c = reader.column("image.bytes");
        } else {
            c = reader.column(imageColumn);
        }
        String wanted = imageColumn.isEmpty() ? "image (or image.bytes)" : imageColumn;
        if (c == null) throw new IOException(reader.file() + " has no column " + wanted + " of image bytes; its columns: " + columns(reader)
                + " (--image_column names another)");
        if (c.type() != ParquetReader.BYTE_ARRAY) {
            throw new IOException(reader.file() + ": the column " + c.path() + " is " + c.typeName() + ", not BYTE_ARRAY image bytes (--image_column names another)");
        }
        return c;
    }

    private ParquetReader.Column labelColumn(ParquetReader reader) throws IOException {
        ParquetReader.Column c = reader.column(labelColumn);
        if (c == null) {
            if (labelRequired) throw new IOException(reader.file() + " has no column " + labelColumn + "; its columns: " + columns(reader));
            return null;
        }
        if (c.type() != ParquetReader.INT32 && c.type() != ParquetReader.INT64) {
            if (!labelRequired) return null;
            throw new IOException(reader.file() + ": the label column " + labelColumn + " is " + c.typeName() + ", not integers (INT32 or INT64)");
        }
        return c;
    }

    private static String columns(ParquetReader reader) {
        return String.join(", ", reader.columns().stream().map(c -> c.path() + " (" + c.typeName() + ")").toList());
    }
}
