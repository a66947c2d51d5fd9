package org.ibot4j.examples.spark;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.Serializable;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.ibot4j.trainer.data.IdxDataset;
import org.ibot4j.trainer.data.InMemoryImages;

/**
 * The first images of a Fashion-MNIST split as raw grey pixels: small and {@link Serializable}, so the
 * driver reads them once and Spark broadcasts them to the executors (which then need no copy of the
 * dataset); every rank and the one-process reference train on the same bytes.
 *
 * @param pixels row-major 8-bit grey images
 * @param labels class indices
 * @param rows image height
 * @param cols image width
 */
public record FashionImages(byte[][] pixels, int[] labels, int rows, int cols) implements Serializable {
    /** {@code $IBOT4J_FASHION_MNIST}, else where Debian's dataset-fashion-mnist puts the IDX files. */
    public static Path folder() {
        return Path.of(System.getenv().getOrDefault("IBOT4J_FASHION_MNIST", "/usr/share/datasets/fashion-mnist"));
    }

    /**
     * @param split "train" or "t10k" (the IDX files' prefix)
     * @param count how many of its first images
     */
    public static FashionImages read(String split, int count) throws IOException {
        IdxDataset data = IdxDataset.read(folder(), split).head(count);
        return new FashionImages(data.images(), data.labels(), data.rows(), data.cols());
    }

    public int size() {
        return pixels.length;
    }

    /** Image {@code i} as a grey BufferedImage (what a service would hand over). */
    public BufferedImage image(int i) {
        BufferedImage image = new BufferedImage(cols, rows, BufferedImage.TYPE_BYTE_GRAY);
        image.getRaster().setDataElements(0, 0, cols, rows, pixels[i]);
        return image;
    }

    /** The images as the pretraining's data source. */
    public InMemoryImages source() {
        List<BufferedImage> images = new ArrayList<>(size());
        for (int i = 0; i < size(); i++) images.add(image(i));
        return InMemoryImages.of(images, labels);
    }
}
