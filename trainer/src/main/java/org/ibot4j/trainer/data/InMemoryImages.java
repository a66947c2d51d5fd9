package org.ibot4j.trainer.data;

import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import org.ibot4j.api.image.ImageReading;

/**
 * Images a caller holds in memory (from a database, an object store, a topic snapshot), optionally
 * labelled, decoded to {@link RgbImage} once when the source is made so that the loader's threads only
 * read them. Their fingerprint in a run's checkpoints hashes the pixels.
 */
public final class InMemoryImages implements ImageSource {
    private final List<RgbImage> images;
    private final int[] labels;
    private final int numClasses;

    private InMemoryImages(List<RgbImage> images, int[] labels) {
        this.images = images;
        this.labels = labels;
        int max = -1;
        for (int l : labels) max = Math.max(max, l);
        this.numClasses = max + 1;
    }

    /**
     * Unlabelled images.
     *
     * @param images any BufferedImages (grey, RGB, indexed); alpha is dropped
     * @return the source, in the list's order
     */
    public static InMemoryImages of(List<BufferedImage> images) {
        int[] none = new int[images.size()];
        Arrays.fill(none, -1);
        return of(images, none);
    }

    /**
     * Labelled images (labels 0..classes-1; -1 for an unlabelled one).
     *
     * @param images any BufferedImages
     * @param labels one per image
     * @return the source
     */
    public static InMemoryImages of(List<BufferedImage> images, int[] labels) {
        Objects.requireNonNull(images, "images");
        if (labels.length != images.size()) {
            throw new IllegalArgumentException(images.size() + " images but " + labels.length + " labels");
        }
        if (images.isEmpty()) throw new IllegalArgumentException("no images");
        List<RgbImage> decoded = new ArrayList<>(images.size());
        for (int i = 0; i < images.size(); i++) {
            BufferedImage image = Objects.requireNonNull(images.get(i), "image " + i + " is null");
            decoded.add(RgbImage.of(ImageReading.pixels(image)));
            if (labels[i] < -1) throw new IllegalArgumentException("label of image " + i + " is " + labels[i] + "; labels are >= 0, or -1");
        }
        return new InMemoryImages(List.copyOf(decoded), labels.clone());
    }

    @Override public int size() { return images.size(); }
    @Override public int label(int index) { return labels[index]; }
    @Override public int numClasses() { return numClasses; }
    @Override public RgbImage load(int index) { return images.get(index); }
    @Override public String describe(int index) { return "in-memory image " + index; }

    @Override
    public String identify(int index) {
        RgbImage image = images.get(index);
        int h = 31 * image.width() + image.height();
        for (float[] plane : image.planes()) h = 31 * h + Arrays.hashCode(plane);
        return index + ":" + h;
    }
}
