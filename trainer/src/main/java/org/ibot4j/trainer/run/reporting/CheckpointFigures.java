package org.ibot4j.trainer.run.reporting;

import java.awt.image.BufferedImage;
import java.util.List;
import org.ibot4j.api.IbotModel;

/**
 * Pictures of the model at each checkpoint for the run report's "Probe images" section (attention
 * maps, PCA of patch features, ...). Called on the training thread right after a checkpoint is
 * written, with the model in that checkpoint's state; it must not change the model. The figures are
 * kept as PNG files under {@code probes/} so the report of a resumed run still shows earlier ones.
 */
@FunctionalInterface
public interface CheckpointFigures {
    /** No figures: the report's section says none are configured. */
    CheckpointFigures NONE = (model, step) -> List.of();

    /**
     * One picture with its title and a line saying what it shows.
     *
     * @param title short name, also used for the file name
     * @param image the picture (drawn as is, so keep it under ~1000 px wide)
     * @param caption one sentence for the reader, may be empty
     */
    record Figure(String title, BufferedImage image, String caption) {}

    /**
     * Figures of {@code model} after {@code step} iterations.
     *
     * @param model the training model, read only
     * @param step iterations done
     * @return figures, possibly none
     */
    List<Figure> render(IbotModel model, long step);
}
