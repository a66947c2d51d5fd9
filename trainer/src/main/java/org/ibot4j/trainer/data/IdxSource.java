package org.ibot4j.trainer.data;

import java.util.Arrays;

/** IDX (MNIST, Fashion-MNIST) grey images as 3-channel images. */
public record IdxSource(IdxDataset data) implements ImageSource {
    @Override public int size() { return data.size(); }
    @Override public int label(int index) { return data.labels()[index]; }
    @Override public int numClasses() { return data.numClasses(); }
    @Override public RgbImage load(int index) { return RgbImage.fromGrey(data.images()[index], data.cols(), data.rows()); }
    @Override public String describe(int index) { return "IDX image " + index; }
    /** The pixels' hash: IDX headers alone do not tell MNIST from Fashion-MNIST. */
    @Override public String identify(int index) { return index + ":" + Arrays.hashCode(data.images()[index]); }
}
