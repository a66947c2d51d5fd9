package org.ibot4j.trainer.eval.viz;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.ibot4j.api.IbotModel;
import org.ibot4j.api.io.AtomicFiles;
import org.ibot4j.trainer.data.Datasets;
import org.ibot4j.trainer.data.FileImageSource;
import org.ibot4j.trainer.data.ImageSource;
import org.ibot4j.trainer.data.RgbImage;
import org.ibot4j.trainer.eval.EvalViews;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code ibot4j visualize}: a checkpoint's attention maps and patch PCA for some images, written as
 * PNGs into a folder: {@code attention-<i>-<name>.png} per image, {@code attention-grid.png} (one row per
 * image) and {@code pca.png}. Images are prepared as for evaluation (the run's normalisation, resized
 * and centre-cropped), at the model's size unless another is asked for (positions are interpolated).
 */
public final class Visualizer {
    private static final Logger LOG = LoggerFactory.getLogger(Visualizer.class);

    /**
     * @param count     the first readable images to draw; 0 for all
     * @param imageSize pixels per side; 0 for the checkpoint's image size
     */
    public record Request(Path checkpoint, ImageSource images, int count, int imageSize, AttentionPcaFigures.Options options, Path output, int threads) {}

    /** What was written. */
    public record Written(List<Path> files, int images, int size, int heads) {}

    private Visualizer() {}

    /** The images of {@code --images}: a folder (ImageFolder classes or flat), one image file, or a list file of paths. */
    public static ImageSource imagesAt(Path path) throws IOException {
        if (Files.isDirectory(path)) return FileImageSource.folder(path);
        if (!Files.exists(path)) throw new IOException("--images " + path + ": " + path.toAbsolutePath() + " does not exist");
        return FileImageSource.isImageFile(path) ? FileImageSource.single(path) : FileImageSource.list(path);
    }

    /** The images of {@code --data}: its test split when it has one (held-out images), else its images. */
    public static ImageSource dataset(String spec) throws IOException {
        try {
            return Datasets.open(spec, Datasets.Split.TEST);
        } catch (IllegalArgumentException noTestSplit) {
            return Datasets.open(spec, Datasets.Split.TRAIN);
        }
    }

    public static Written run(Request r, PrintStream console) throws IOException {
        if (r.count() < 0) throw new IllegalArgumentException("--count must be 0 (all) or more, got " + r.count());
        if (r.imageSize() < 0) throw new IllegalArgumentException("--image_size must be positive, got " + r.imageSize());
        if (Files.exists(r.output()) && !Files.isDirectory(r.output())) {
            throw new IllegalArgumentException("--output " + r.output() + " is a file, not a folder");
        }
        List<RgbImage> images = new ArrayList<>();
        List<String> names = new ArrayList<>();
        int wanted = r.count() == 0 ? r.images().size() : Math.min(r.count(), r.images().size());
        for (int i = 0; i < r.images().size() && images.size() < wanted; i++) {
            try {
                images.add(r.images().load(i));
                names.add(r.images().describe(i));
            } catch (IOException e) {
                LOG.warn("skipping unreadable image {}: {}", r.images().describe(i), e.getMessage());
            }
        }
        if (images.isEmpty()) throw new IOException("none of the images could be read");
        try (IbotModel model = IbotModel.open(r.checkpoint(), r.threads())) {
            EvalViews eval = EvalViews.of(r.checkpoint(), model.config());
            int size = r.imageSize() == 0 ? eval.size() : r.imageSize();
            int patch = model.config().patchSize();
            if (size < patch || size % patch != 0) {
                throw new IllegalArgumentException("--image_size " + size + " must be a multiple of the patch size " + patch
                        + " (the maps are drawn per patch)");
            }
            AttentionPcaFigures figures = AttentionPcaFigures.compute(model, ProbeImages.centreCrops(images, eval.views(), size), r.options());
            Files.createDirectories(r.output());
            List<Path> written = new ArrayList<>();
            for (int i = 0; i < images.size(); i++) {
                Path file = r.output().resolve(String.format(Locale.ROOT, "attention-%03d-%s.png", i, slug(names.get(i))));
                AtomicFiles.writeBytes(file, figures.attentionFigurePng(i));
                written.add(file);
            }
            written.add(write(r.output().resolve("attention-grid.png"), figures.attentionGridPng()));
            written.add(write(r.output().resolve("pca.png"), figures.pcaGridPng()));
            int heads = model.config().numHeads();
            console.printf(Locale.ROOT, "%s attention (%d heads, masks keep %.0f %% of the mass) and patch PCA of %d images at %d px from %s%n",
                    r.options().network().name().toLowerCase(Locale.ROOT), heads, 100 * r.options().threshold(), images.size(), size,
                    r.checkpoint());
            console.printf(Locale.ROOT, "written to %s: %d per-image figures, attention-grid.png, pca.png%n", r.output(), images.size());
            return new Written(List.copyOf(written), images.size(), size, heads);
        }
    }

    private static Path write(Path file, byte[] png) throws IOException {
        AtomicFiles.writeBytes(file, png);
        return file;
    }

    /** A short file-name part from an image's description (its file name without extension, or its dataset index). */
    static String slug(String description) {
        String name = description;
        int slash = Math.max(name.lastIndexOf('/'), name.lastIndexOf('\\'));
        if (slash >= 0) name = name.substring(slash + 1);
        int dot = name.lastIndexOf('.');
        if (dot > 0) name = name.substring(0, dot);
        String slug = name.replaceAll("[^A-Za-z0-9_-]+", "-").replaceAll("^-+|-+$", "");
        if (slug.length() > 40) slug = slug.substring(0, 40);
        return slug.isEmpty() ? "image" : slug;
    }
}
