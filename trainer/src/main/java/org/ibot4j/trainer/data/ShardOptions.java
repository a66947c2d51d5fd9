package org.ibot4j.trainer.data;

/**
 * How to read sharded data: the Parquet columns holding the image bytes and the class (a dotted path
 * reaches into a struct, as {@code image.bytes} in Hugging Face's image columns), and the samples held
 * to shuffle the stream.
 *
 * @param imageColumn Parquet column of encoded images; blank: {@code image}, or {@code image.bytes} when that is the struct's field
 * @param labelColumn Parquet column of integer classes; blank: {@code label} when the file has it, else unlabelled
 * @param shuffleBuffer samples held to shuffle the training stream
 */
public record ShardOptions(String imageColumn, String labelColumn, int shuffleBuffer) {
    public static final ShardOptions DEFAULT = new ShardOptions("", "", ShardedImageSource.DEFAULT_SHUFFLE_BUFFER);

    public ShardOptions {
        imageColumn = imageColumn == null ? "" : imageColumn.strip();
        labelColumn = labelColumn == null ? "" : labelColumn.strip();
        if (shuffleBuffer < 1) throw new IllegalArgumentException("--shuffle_buffer must be at least 1, not " + shuffleBuffer);
    }
}
