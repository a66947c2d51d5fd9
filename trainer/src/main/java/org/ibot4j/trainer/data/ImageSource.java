package org.ibot4j.trainer.data;

import java.io.IOException;

/** A dataset of images with optional labels; {@link #load} may fail for one unreadable item. */
public interface ImageSource {
    int size();

    /** Class index, or -1 for unlabelled data. */
    int label(int index);

    int numClasses();

    /** Decodes item {@code index}; an unreadable item throws {@link IOException} naming it and why. */
    RgbImage load(int index) throws IOException;

    /**
     * Item {@code index} with its size known and its pixels decoded on demand (at a reduced size when
     * the format allows); by default the image {@link #load} decodes.
     */
    default EncodedImage open(int index) throws IOException {
        return EncodedImage.of(load(index));
    }

    /** What the item is, for messages (a path, or a file and index). */
    String describe(int index);

    /**
     * The item's name for the data's fingerprint: the same for the same data however its location was
     * spelled (a path relative to the dataset's root, a file and index); by default {@link #describe}.
     */
    default String identify(int index) {
        return describe(index);
    }
}
