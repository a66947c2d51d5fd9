package org.ibot4j.trainer.data;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;

/** Labelled Fashion-MNIST images as a user's ImageFolder holds them, and shards written from it. */
public final class ShardFixtures {
    private ShardFixtures() {}

    /** The first {@code n} Fashion-MNIST test images as {@code folder/class<label>/img<i>.png} (even i) or {@code .jpg} (odd i). */
    public static Path folder(Path folder, int n) throws IOException {
        IdxDataset fashion = IdxDataset.read(IdxDatasetTest.FASHION, "t10k").head(n);
        for (int i = 0; i < n; i++) {
            Path dir = Files.createDirectories(folder.resolve("class" + fashion.labels()[i]));
            BufferedImage img = new BufferedImage(28, 28, BufferedImage.TYPE_BYTE_GRAY);
            img.getRaster().setDataElements(0, 0, 28, 28, fashion.images()[i]);
            String format = i % 2 == 0 ? "png" : "jpg";
            ImageIO.write(img, format, dir.resolve("img" + i + "." + format).toFile());
        }
        return folder;
    }

    /** The {@code --data} argument of shards of {@code shardSize} images written from {@link #folder}. */
    public static String shards(Path dir, int n, ShardPaths.Format format, int shardSize) throws IOException {
        FileImageSource images = FileImageSource.folder(folder(dir.resolve("images"), n));
        return ShardWriter.write(images, format, shardSize, dir.resolve("shards")).data();
    }
}
