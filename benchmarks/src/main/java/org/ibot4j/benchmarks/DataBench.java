package org.ibot4j.benchmarks;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import javax.imageio.ImageIO;
import org.ibot4j.api.IbotConfig;
import org.ibot4j.trainer.run.PretrainSetup;
import org.ibot4j.trainer.data.Augment;
import org.ibot4j.trainer.data.FileImageSource;
import org.ibot4j.trainer.data.IdxDataset;
import org.ibot4j.trainer.data.IdxSource;
import org.ibot4j.trainer.data.ImageSource;
import org.ibot4j.trainer.data.MaskingPolicy;
import org.ibot4j.trainer.data.MultiCropAugmentation;
import org.ibot4j.trainer.data.MultiCropLoader;
import org.ibot4j.trainer.data.RgbImage;
import org.ibot4j.trainer.data.TurboJpeg;

/**
 * {@code ci/bench-data}: batches and images per second the loader produces (no training), for the
 * Fashion-MNIST demo multi-crop from IDX and for 2x224 + 10x96 multi-crop from a folder of JPEGs
 * (Fashion-MNIST written as 256x256 JPEGs) decoded by ImageIO and by libjpeg-turbo, with 1 and 2
 * worker threads; then the 1-worker libjpeg-turbo rate against the official pipeline's rate on one
 * core (measured by tools/reference/bench_data_reference.py on the same folder).
 */
public final class DataBench {
    private DataBench() {}

    /** @param officialPerCore images/s of the official pipeline in one DataLoader worker; 0 or less when not measured */
    public static void run(Path data, Path jpegDir, double officialPerCore, PrintStream out) throws IOException {
        IdxDataset train = IdxDataset.read(data, "train").head(8192);
        out.println("| config | workers | batch | batches/s | images/s |");
        out.println("|---|---|---|---|---|");
        PretrainSetup demo = StepBench.demoSetup(new IdxSource(train), 64, 1);
        IbotConfig tiny = demo.model();
        for (int workers : new int[] {1, 2}) {
            measure(out, "Fashion-MNIST IDX, 2x32 + 4x16 (demo)", new IdxSource(train), demo.augmentation(), tiny, 64, workers, 40);
        }
        FileImageSource jpegs = jpegFolder(train, jpegDir, 256);
        IbotConfig vitS = IbotConfig.builder().build();
        MultiCropAugmentation published = new MultiCropAugmentation(MultiCropAugmentation.Options.published(10, 224, 96));
        measure(out, "JPEG folder 256 px, 2x224 + 10x96, ImageIO", jpegs.withJpegsDecodedByImageIo(), published, vitS, 16, 1, 12);
        String turbo = TurboJpeg.usable() ? "libjpeg-turbo" : "ImageIO (no " + TurboJpeg.LIBRARY + ")";
        double perCore = 0;
        for (int workers : new int[] {1, 2}) {
            double rate = measure(out, "JPEG folder 256 px, 2x224 + 10x96, " + turbo, jpegs, published, vitS, 16, workers, 20);
            if (workers == 1) perCore = rate;
        }
        out.println();
        if (officialPerCore > 0) {
            out.printf(Locale.ROOT, "official DataAugmentationiBOT, 1 DataLoader worker: %.1f images/s per core; ibot4j (%s, 1 worker): %.1f%n",
                    officialPerCore, turbo, perCore);
            out.printf(Locale.ROOT, "JPEG loader per core vs official: %.2fx%n", perCore / officialPerCore);
        } else {
            out.println("JPEG loader per core vs official: n/a (the official pipeline was not measured)");
        }
    }

    static double measure(PrintStream out, String name, ImageSource source, MultiCropAugmentation aug, IbotConfig config,
            int batch, int workers, int batches) {
        try (MultiCropLoader loader = new MultiCropLoader(source, aug, MaskingPolicy.published(), config, batch, workers, 4, 0, 0)) {
            for (int i = 0; i < 3; i++) loader.next();  // warm-up: JIT and the first fills
            long start = System.nanoTime();
            for (int i = 0; i < batches; i++) loader.next();
            double s = (System.nanoTime() - start) / 1e9;
            out.printf(Locale.ROOT, "| %s | %d | %d | %.2f | %.1f |%n", name, workers, batch, batches / s, batches * batch / s);
            return batches * batch / s;
        }
    }

    /** Writes the first 512 images as 256x256 JPEGs once (bicubic upscale), and reads the folder back. */
    static FileImageSource jpegFolder(IdxDataset data, Path dir, int size) throws IOException {
        Path cls = dir.resolve("all");
        // tools/reference/bench_data_reference.py reads (or writes, with PIL) the same folder.
        if (!Files.isDirectory(cls) || Files.list(cls).count() < 512) {
            Files.createDirectories(cls);
            for (int i = 0; i < 512; i++) {
                RgbImage big = Augment.resizeBicubic(RgbImage.fromGrey(data.images()[i], data.cols(), data.rows()), size, size);
                BufferedImage img = new BufferedImage(size, size, BufferedImage.TYPE_INT_RGB);
                for (int y = 0; y < size; y++) {
                    for (int x = 0; x < size; x++) {
                        int v = Math.round(big.get(0, x, y) * 255);
                        img.setRGB(x, y, (v << 16) | (v << 8) | v);
                    }
                }
                ImageIO.write(img, "jpg", cls.resolve(String.format(Locale.ROOT, "%04d.jpg", i)).toFile());
            }
        }
        return FileImageSource.folder(dir);
    }
}
