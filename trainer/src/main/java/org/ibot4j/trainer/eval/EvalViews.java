package org.ibot4j.trainer.eval;

import java.nio.file.Path;
import org.ibot4j.api.IbotConfig;
import org.ibot4j.api.image.EvalTransform;
import org.ibot4j.trainer.data.MultiCropAugmentation;

/**
 * The evaluation transform of a checkpoint (resize, centre crop to the global crop size, the run's
 * normalisation): from the options of the pretrain run that wrote it, or ImageNet statistics at the
 * model's image size for an imported checkpoint ({@link EvalTransform#forCheckpoint}).
 */
public record EvalViews(MultiCropAugmentation views, int size) {
    public static EvalViews of(Path checkpoint, IbotConfig config) {
        EvalTransform t = EvalTransform.forCheckpoint(checkpoint, config.imgSize());
        MultiCropAugmentation views = new MultiCropAugmentation(new MultiCropAugmentation.Options(2, 0, config.imgSize(), config.imgSize(),
                new double[] {1, 1}, new double[] {1, 1}, t.mean(), t.std()));
        return new EvalViews(views, config.imgSize());
    }
}
