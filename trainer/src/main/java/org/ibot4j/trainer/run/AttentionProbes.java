package org.ibot4j.trainer.run;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.ibot4j.api.IbotModel;
import org.ibot4j.trainer.data.ImageSource;
import org.ibot4j.trainer.data.RgbImage;
import org.ibot4j.trainer.eval.viz.ProbeImages;

/**
 * The report's default probe figures: the teacher's last-block [CLS] attention per head and the PCA of
 * its patch features on the same {@value #COUNT} training images at every checkpoint (the first
 * images of the training set, centre-cropped to the model's size), so a reader sees them sharpen.
 */
public final class AttentionProbes implements ProbeFigures {
    static final int COUNT = 8;
    private final ProbeImages images;

    private AttentionProbes(ProbeImages images) {
        this.images = images;
    }

    /**
     * @param train the run's training images (the first {@value #COUNT} readable ones are used)
     * @param setup the run's setup: crop size and normalisation
     * @return the probe renderer
     * @throws IOException when no image can be read
     */
    /** {@link #of}, or no figures (with a warning) when the probe images cannot be prepared: figures never stop a run. */
    public static ProbeFigures orNone(ImageSource train, PretrainSetup setup) {
        try {
            return of(train, setup);
        } catch (Exception | OutOfMemoryError | StackOverflowError | LinkageError e) {
            org.slf4j.LoggerFactory.getLogger(AttentionProbes.class).warn("the report will have no probe figures: {}", e.toString());
            return ProbeFigures.NONE;
        }
    }

    public static AttentionProbes of(ImageSource train, PretrainSetup setup) throws IOException {
        List<RgbImage> picked = new ArrayList<>();
        for (int i = 0; i < train.size() && picked.size() < COUNT; i++) {
            try {
                picked.add(train.load(i));
            } catch (IOException unreadable) {
                // the loader skips it too; the next image takes its place
            }
        }
        if (picked.isEmpty()) throw new IOException("none of the first training images could be read for the report's probe figures");
        return new AttentionProbes(ProbeImages.centreCrops(picked, setup.augmentation(), setup.model().imgSize()));
    }

    @Override
    public List<Figure> render(IbotModel model, long step) {
        var figures = org.ibot4j.trainer.eval.viz.ProbeFigures.compute(model, images,
                org.ibot4j.trainer.eval.viz.ProbeFigures.Options.defaults());
        return List.of(
                new Figure("attention", figures.attentionGrid(), "Teacher's last-block [CLS] attention per head (rows: images), "
                        + "with the masks keeping 60 % of each head's attention mass, as official visualize_attention.py draws them."),
                new Figure("pca", figures.pcaGrid(), "First three principal components of the teacher's patch features as RGB, "
                        + "background (low first component) in black, as in DINOv2's figures."));
    }
}
