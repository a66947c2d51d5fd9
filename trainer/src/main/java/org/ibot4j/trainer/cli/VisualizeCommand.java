package org.ibot4j.trainer.cli;

import java.nio.file.Path;
import org.ibot4j.trainer.data.ImageSource;
import org.ibot4j.trainer.eval.viz.AttentionPcaFigures;
import org.ibot4j.trainer.eval.viz.Visualizer;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code ibot4j visualize}: attention maps (official visualize_attention.py) and patch-feature PCA of a checkpoint, as PNGs. */
@Command(name = "visualize", header = "attention maps and patch PCA of a checkpoint as PNG figures", mixinStandardHelpOptions = true, showDefaultValues = true, sortOptions = false,
        description = {"The last block's [CLS] attention per head, upsampled to the image, with masks keeping --threshold of",
                "each head's attention mass (official visualize_attention.py); a PCA of the patch features: the first",
                "component marks the foreground, the foreground's next three are shown as RGB (DINOv2's figures).",
                "Writes attention-<i>-<name>.png per image, attention-grid.png (a row per image) and pca.png to --output."})
final class VisualizeCommand extends Ibot4jCommand {
    @Mixin
    CheckpointOptions checkpoint;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Input input;

    static final class Input {
        @Option(names = "--images", required = true, paramLabel = "PATH", description = "a folder of images, one image file, or a list file")
        Path images;

        @Option(names = "--data", required = true, paramLabel = "DATA", description = "a dataset (e.g. fashion-mnist): its test split when it has one")
        String data;
    }

    @Option(names = "--count", paramLabel = "K", description = "the first K readable images (default: 8 with --data, all with --images)")
    Integer count;

    @Option(names = "--image_size", paramLabel = "PX", showDefaultValue = picocli.CommandLine.Help.Visibility.NEVER,
            description = "side of the centre crop the model reads, a multiple of the patch size (default: the checkpoint's)")
    int imageSize = 0;

    @Option(names = "--threshold", paramLabel = "SHARE", description = "share of each head's attention mass its mask keeps")
    double threshold = AttentionPcaFigures.Options.THRESHOLD;

    @Option(names = "--foreground_threshold", paramLabel = "T", description = "on the first PCA component, normalised to [0, 1]: above it is foreground")
    double foreground = AttentionPcaFigures.Options.FOREGROUND;

    @Option(names = "--output", paramLabel = "DIR", description = "folder for the PNGs")
    Path output = Path.of("visualize");

    @Override
    public Integer call() throws Exception {
        AttentionPcaFigures.Options options = new AttentionPcaFigures.Options(checkpoint.which, threshold, foreground);
        ImageSource images = input.images != null ? Visualizer.imagesAt(input.images) : Visualizer.dataset(input.data);
        int k = count != null ? count : input.data != null ? 8 : 0;
        Visualizer.run(new Visualizer.Request(checkpoint.file(), images, k, imageSize, options, output, checkpoint.threads()), out);
        return 0;
    }
}
