package org.ibot4j.trainer.cli;

import java.nio.file.Path;
import java.util.Locale;
import org.ibot4j.api.Encoder;
import org.ibot4j.api.IbotModel;
import org.ibot4j.api.Network;
import org.ibot4j.api.image.EvalTransform;
import org.ibot4j.api.io.BackboneMetadata;
import org.ibot4j.api.io.WeightExchange;
import org.ibot4j.trainer.export.OnnxExport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code ibot4j export}: one backbone as a PyTorch state_dict with timm's key names, or as a TorchScript module. */
@Command(name = "export", header = "a backbone as .pth / .safetensors with timm key names, or as TorchScript or ONNX", mixinStandardHelpOptions = true, showDefaultValues = true, sortOptions = false,
        description = {"Writes one backbone as a state_dict with timm's ViT key names. The .pth loads with",
                "torch.load(path, weights_only=True); either format loads into timm's VisionTransformer with strict=True",
                "(the student's mask token is not part of it). The same weights always give the same bytes.",
                "--format torchscript writes a TorchScript module made by LibTorch (no Python): forward(x) takes normalised",
                "float32 [N, 3, H, W] and returns the CLS features [N, D] of 'embed', positions interpolated as in training;",
                "it loads with torch.jit.load (Python) and torch::jit::load (LibTorch, DJL).",
                "--format onnx writes an ONNX model (opset 17): input 'images' [batch, C, img_size, img_size] (batch dynamic, the",
                "training size fixed), output 'features' [batch, D], the same CLS features; it runs in ONNX Runtime."})
final class ExportCommand extends Ibot4jCommand {
    @Mixin
    CheckpointOptions checkpoint;

    @Option(names = "--format", description = "pth, safetensors, torchscript or onnx")
    String format = "pth";

    @Option(names = "--output", required = true, paramLabel = "FILE", description = "the file to write")
    Path output;

    @Override
    public Integer call() throws Exception {
        Path file = checkpoint.file();
        Network which = checkpoint.which;
        // Before the model is read: a folder, a device node or a read-only place is refused, never written into.
        org.ibot4j.api.io.AtomicFiles.checkTarget(output, 0);
        String network = which.name().toLowerCase(Locale.ROOT);
        if (format.equalsIgnoreCase("torchscript")) {
            try (Encoder encoder = Encoder.open(file, Encoder.Options.defaults().network(which).threads(checkpoint.threads()))) {
                encoder.exportTorchScript(output);
            }
            EvalTransform view = EvalTransform.forCheckpoint(file, 1);
            out.println("wrote the " + network + " backbone of " + file + " to " + output + " (TorchScript: forward(x) -> CLS features; x normalised "
                    + "with mean " + java.util.Arrays.toString(view.mean()) + " and std " + java.util.Arrays.toString(view.std()) + ")");
            return 0;
        }
        if (format.equalsIgnoreCase("onnx")) {
            OnnxExport.export(file, which, checkpoint.threads(), output);
            out.println("wrote the " + network + " backbone of " + file + " to " + output + " (ONNX: images [batch, C, H, W] -> features [batch, D]; "
                    + "the normalisation to apply in its metadata, ibot4j.mean and ibot4j.std)");
            return 0;
        }
        WeightExchange.Format chosen;
        try {
            chosen = WeightExchange.Format.of(format);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--format " + format + ": unknown (pth, safetensors, torchscript or onnx)");
        }
        double[][] normalisation = EvalTransform.storedNormalisation(file).orElse(new double[][] {null, null});
        try (IbotModel model = IbotModel.open(file, checkpoint.threads())) {
            WeightExchange.export(model, which, chosen, output, normalisation[0], normalisation[1]);
        }
        out.println("wrote the " + network + " backbone of " + file + " to " + output + " (timm ViT key names; its architecture"
                + (normalisation[0] == null ? "" : " and normalisation") + " in the '" + BackboneMetadata.KEY + "' metadata)");
        return 0;
    }
}
