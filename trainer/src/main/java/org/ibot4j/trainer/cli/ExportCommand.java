package org.ibot4j.trainer.cli;

import java.nio.file.Path;
import java.util.Locale;
import org.ibot4j.api.IbotModel;
import org.ibot4j.api.Network;
import org.ibot4j.api.io.WeightExchange;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code ibot4j export}: one backbone as a PyTorch state_dict with timm's key names. */
@Command(name = "export", header = "a backbone as .pth / .safetensors with timm key names", mixinStandardHelpOptions = true, showDefaultValues = true, sortOptions = false,
        description = {"Writes one backbone as a state_dict with timm's ViT key names. The .pth loads with",
                "torch.load(path, weights_only=True); either format loads into timm's VisionTransformer with strict=True",
                "(the student's mask token is not part of it). The same weights always give the same bytes."})
final class ExportCommand extends Ibot4jCommand {
    @Mixin
    CheckpointOptions checkpoint;

    @Option(names = "--format", description = "pth or safetensors")
    String format = "pth";

    @Option(names = "--out", required = true, paramLabel = "FILE", description = "the file to write")
    Path output;

    @Override
    public Integer call() throws Exception {
        Path file = checkpoint.file();
        Network which = checkpoint.which;
        WeightExchange.Format chosen = WeightExchange.Format.of(format);
        org.ibot4j.api.io.SpecialFiles.requireWritable(output);  // before the model is read: a device node is refused, never replaced
        try (IbotModel model = IbotModel.open(file, checkpoint.threads())) {
            WeightExchange.export(model, which, chosen, output);
        }
        out.println("wrote the " + which.name().toLowerCase(Locale.ROOT) + " backbone of " + file + " to " + output + " (timm ViT key names)");
        return 0;
    }
}
