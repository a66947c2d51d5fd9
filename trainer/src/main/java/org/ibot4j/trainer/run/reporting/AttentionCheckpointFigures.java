package org.ibot4j.trainer.run.reporting;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.ibot4j.api.IbotModel;
import org.ibot4j.trainer.data.ImageSource;
import org.ibot4j.trainer.data.RgbImage;
import org.ibot4j.trainer.eval.viz.AttentionPcaFigures;
import org.ibot4j.trainer.eval.viz.ProbeImages;
import org.ibot4j.trainer.run.PretrainSetup;
import org.slf4j.LoggerFactory;

/**
 * The report's default probe figures: the teacher's last-block [CLS] attention per head and the PCA of
 * its patch features on the same {@value #COUNT} training images at every checkpoint (the first
 * images of the training set, centre-cropped to the model's size), so a reader sees them sharpen.
 */
public final class AttentionCheckpointFigures implements CheckpointFigures {
    static final int COUNT = 8;
    private final ProbeImages images;

    private AttentionCheckpointFigures(ProbeImages images) {
        this.images = images;
    }

    /** {@link #of}, or no figures (with a warning) when the probe images cannot be prepared: figures never stop a run. */
    public static CheckpointFigures orNone(ImageSource train, PretrainSetup setup) {
        try {
            return of(train, setup);
        } catch (Exception | OutOfMemoryError | StackOverflowError | LinkageError e) {
            LoggerFactory.getLogger(AttentionCheckpointFigures.class).warn("the report will have no probe figures: {}", e.toString());
            return CheckpointFigures.NONE;
        }
    }

    /**
     * @param train the run's training images (the first {@value #COUNT} readable ones are used)
     * @param setup the run's setup: crop size and normalisation
     * @return the probe renderer
     * @throws IOException when no image can be read
     */
    public static AttentionCheckpointFigures of(ImageSource train, PretrainSetup setup) throws IOException {
        List<RgbImage> picked = new ArrayList<>();
        for (int i = 0; i < train.size() && picked.size() < COUNT; i++) {
            try {
                picked.add(train.load(i));
            } catch (IOException unreadable) {
                // the loader skips it too; the next image takes its place
            }
        }
        if (picked.isEmpty()) throw new IOException("none of the first training images could be read for the report's probe figures");
        return new AttentionCheckpointFigures(ProbeImages.centreCrops(picked, setup.augmentation(), setup.evalSize()));
    }

    @Override
    public List<Figure> render(IbotModel model, long step) {
        var figures = AttentionPcaFigures.compute(model, images,
                AttentionPcaFigures.Options.defaults());
        return List.of(
                new Figure("attention", figures.attentionGrid(), "Teacher's last-block [CLS] attention per head (rows: images), "
                        + "with the masks keeping 60 % of each head's attention mass, as official visualize_attention.py draws them."),
                new Figure("pca", figures.pcaGrid(), "First three principal components of the teacher's patch features as RGB, "
                        + "background (low first component) in black, as in DINOv2's figures."));
    }
}
