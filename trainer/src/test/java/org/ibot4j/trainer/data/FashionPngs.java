package org.ibot4j.trainer.data;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;

/** Real images as a user's folder holds them: the first Fashion-MNIST test images as 28x28 grey PNGs. */
public final class FashionPngs {
    private FashionPngs() {}

    /** Writes img0.png ... img{n-1}.png into {@code folder} (created) and returns it. */
    public static Path write(Path folder, int n) throws IOException {
        Files.createDirectories(folder);
        IdxDataset fashion = IdxDataset.read(IdxDatasetTest.FASHION, "t10k").head(n);
        for (int i = 0; i < n; i++) {
            BufferedImage img = new BufferedImage(28, 28, BufferedImage.TYPE_BYTE_GRAY);
            img.getRaster().setDataElements(0, 0, 28, 28, fashion.images()[i]);
            ImageIO.write(img, "png", folder.resolve("img" + i + ".png").toFile());
        }
        return folder;
    }
}
