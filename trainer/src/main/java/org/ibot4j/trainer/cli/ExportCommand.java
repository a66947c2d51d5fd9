package org.ibot4j.trainer.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import org.ibot4j.api.Encoder;
import org.ibot4j.api.IbotModel;
import org.ibot4j.api.Network;
import org.ibot4j.api.image.EvalTransform;
import org.ibot4j.api.io.AtomicFiles;
import org.ibot4j.api.io.BackboneMetadata;
import org.ibot4j.api.io.CheckpointFiles;
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
                "A DINOv2 / DINOv3 .pth or .safetensors (timm's or Meta's names) is rewritten with timm's names;",
                "--arch names its architecture when the file cannot tell it (see 'embed').",
                "--format onnx writes an ONNX model (opset 17): input 'images' [batch, C, img_size, img_size] (batch dynamic, the",
                "training size fixed), output 'features' [batch, D], the same CLS features; it runs in ONNX Runtime."})
final class ExportCommand extends Ibot4jCommand {
    @Mixin
    CheckpointOptions checkpoint;

    @Option(names = "--format", description = "pth, safetensors, torchscript or onnx")
    String format = "pth";

    @Option(names = "--output", required = true, paramLabel = "FILE", description = "the file to write")
    Path output;

    @Mixin
    ForeignWeightsOptions foreign;

    @Override
    public Integer call() throws Exception {
        // A run folder or an ibot4j checkpoint goes through the trainer's store; another file may be any weights the Encoder reads.
        Path given = checkpoint.checkpoint;
        boolean weightsFile = Files.isRegularFile(given) && !CheckpointFiles.isLibTorchArchive(given);
        Path file = weightsFile ? given : checkpoint.file();
        Network which = checkpoint.which;
        // Before the model is read: a folder, a device node or a read-only place is refused, never written into.
        AtomicFiles.checkTarget(output, 0);
        String network = which.name().toLowerCase(Locale.ROOT);
        Encoder.Options options = foreign.apply(Encoder.Options.defaults().network(which).threads(checkpoint.threads()));
        if (format.equalsIgnoreCase("torchscript")) {
            EvalTransform view;
            try (Encoder encoder = Encoder.open(file, options)) {
                encoder.exportTorchScript(output);
                view = encoder.transform();  // the checkpoint's normalisation, or ImageNet's for another file
            }
            out.println("wrote the " + network + " backbone of " + file + " to " + output + " (TorchScript: forward(x) -> CLS features; x normalised "
                    + "with mean " + Arrays.toString(view.mean()) + " and std " + Arrays.toString(view.std()) + ")");
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
        if (weightsFile) {
            // A .pth / .safetensors of timm's or Meta's names (DINOv2, DINOv3), or one ibot4j exported: rewritten with timm's names.
            Encoder.exportWeights(file, options, chosen, output);
            out.println("wrote the backbone of " + file + " to " + output + " (timm key names; its architecture in the '" + BackboneMetadata.KEY
                    + "' metadata)");
            return 0;
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
