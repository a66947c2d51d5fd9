package org.ibot4j.trainer.export;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Locale;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.ibot4j.api.IbotConfig;
import org.ibot4j.api.IbotModel;
import org.ibot4j.api.Network;
import org.ibot4j.api.image.EvalTransform;
import org.ibot4j.api.io.WeightExchange;
import org.ibot4j.api.io.AtomicFiles;
import org.ibot4j.api.io.NamedTensor;
import org.ibot4j.trainer.export.proto.Onnx.ModelProto;
import org.ibot4j.trainer.export.proto.Onnx.OperatorSetIdProto;
import org.ibot4j.trainer.export.proto.Onnx.StringStringEntryProto;

/**
 * {@code export --format onnx}: one backbone as an ONNX model, built with protobuf-java from ONNX's own
 * {@code onnx.proto} (generated at build time). Input {@code images}: normalised float32
 * {@code [batch, in_chans, img_size, img_size]}, the batch dynamic and the image size fixed at the
 * checkpoint's training size (positions are not interpolated in the graph; the TorchScript export takes
 * any size). Output {@code features}: the CLS token after the final norm {@code [batch, embed_dim]}, what
 * {@code embed} and the Encoder compute. Opset {@value #OPSET}, IR version {@value #IR_VERSION}.
 */
public final class OnnxExport {
    /** LayerNormalization is an ONNX operator from opset 17 on. */
    static final int OPSET = 17;
    static final int IR_VERSION = 8;
    /** A model is one protobuf message, which cannot exceed 2 GiB (larger ones need ONNX's external data, not written here). */
    static final long MAX_BYTES = (1L << 31) - (64L << 20);
    /** The families the exporter knows, tried in order. */
    static final List<BackboneGraph> FAMILIES = List.of(new VitGraph());

    private OnnxExport() {}

    /**
     * Checks that a family can express the backbone, then replaces {@code out} atomically with the model
     * ({@link AtomicFiles}: nothing partial is left behind).
     *
     * @param config the backbone's architecture
     * @param backbone its tensors, timm-named
     * @param metadata key-value pairs stored in the model (e.g. the normalisation)
     * @throws IllegalArgumentException naming why no family can express the backbone
     */
    public static void write(IbotConfig config, List<NamedTensor> backbone, Map<String, String> metadata, Path out) throws IOException {
        AtomicFiles.writeBytes(out, model(config, backbone, metadata).toByteArray());
    }

    /**
     * The backbone {@code which} of an ibot4j checkpoint as an ONNX model in {@code out}; the checkpoint's
     * normalisation is stored in the model's metadata ({@code ibot4j.mean}, {@code ibot4j.std}).
     */
    public static void export(Path checkpoint, Network which, int threads, Path out) throws IOException {
        try (IbotModel model = IbotModel.open(checkpoint, threads)) {
            IbotConfig config = model.config();
            EvalTransform transform = EvalTransform.forCheckpoint(checkpoint, config.imgSize());
            Map<String, String> metadata = new LinkedHashMap<>();
            metadata.put("ibot4j.network", which.name().toLowerCase(Locale.ROOT));
            metadata.put("ibot4j.mean", Arrays.toString(transform.mean()));
            metadata.put("ibot4j.std", Arrays.toString(transform.std()));
            metadata.put("ibot4j.architecture", config.toJson().toString());
            write(config, WeightExchange.backbone(model, which), metadata, out);
        }
    }

    static ModelProto model(IbotConfig config, List<NamedTensor> backbone, Map<String, String> metadata) {
        Map<String, NamedTensor> tensors = new LinkedHashMap<>();
        long bytes = 0;
        for (NamedTensor t : backbone) {
            tensors.put(t.name(), t);
            bytes += (long) t.data().length * Float.BYTES;
        }
        if (bytes > MAX_BYTES) {
            throw new IllegalArgumentException(String.format(Locale.ROOT, "--format onnx: the backbone's weights take %.2f GB, more than "
                    + "the 2 GB one ONNX file can hold (ONNX external data is not written); use --format torchscript", bytes / 1e9));
        }
        List<String> refusals = new ArrayList<>();
        for (BackboneGraph family : FAMILIES) {
            String why = family.refusal(config, tensors);
            if (why != null) {
                refusals.add(family.name() + ": " + why);
                continue;
            }
            OnnxGraph g = new OnnxGraph("ibot4j_backbone");
            String images = g.input("images", config.inChans(), config.imgSize(), config.imgSize());
            g.output(family.build(g, images, config, tensors), "features", config.embedDim());
            ModelProto.Builder model = ModelProto.newBuilder().setIrVersion(IR_VERSION).setProducerName("ibot4j")
                    .setDocString("ibot4j " + family.name() + " backbone: images [batch, " + config.inChans() + ", " + config.imgSize() + ", "
                            + config.imgSize() + "] (normalised) -> CLS features [batch, " + config.embedDim() + "]")
                    .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(OPSET)).setGraph(g.build());
            metadata.forEach((k, v) -> model.addMetadataProps(StringStringEntryProto.newBuilder().setKey(k).setValue(v)));
            return model.build();
        }
        throw new IllegalArgumentException("--format onnx cannot express this backbone (" + String.join("; ", refusals)
                + "); --format torchscript or safetensors can carry it");
    }
}
