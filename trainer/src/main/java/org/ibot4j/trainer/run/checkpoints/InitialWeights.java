package org.ibot4j.trainer.run.checkpoints;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.ibot4j.api.IbotConfig;
import org.ibot4j.api.IbotConfigBuilder;
import org.ibot4j.api.IbotModel;
import org.ibot4j.api.io.CheckpointFiles;
import org.ibot4j.api.io.PthReader;
import org.ibot4j.api.io.WeightExchange;
import org.ibot4j.trainer.run.PretrainSetup;

/**
 * {@code --load_from}: the weights a new run starts from. An ibot4j checkpoint (or run folder) gives
 * student, teacher, heads and centres; an official {@code main_ibot.py} checkpoint the same through
 * the importer's renaming, read in place; a backbone-only {@code .pth}/{@code .safetensors} seeds both
 * backbones and leaves the rest as a new run initialises it. Only weights travel: the optimiser state,
 * the step count and the schedules are the new run's.
 */
public final class InitialWeights {
    /**
     * The architecture fields of the model configuration (the {@code ARCH} rows of {@code IBOT4J_CONFIG_FIELDS})
     * with the pretrain option that sets each, for the error message.
     */
    private static final Map<String, String> ARCHITECTURE = new LinkedHashMap<>();

    static {
        ARCHITECTURE.put("img_size", "--global_crop_size");
        ARCHITECTURE.put("patch_size", "--patch_size");
        ARCHITECTURE.put("in_chans", "input channels");
        ARCHITECTURE.put("embed_dim", "--embed_dim / --arch");
        ARCHITECTURE.put("depth", "--depth / --arch");
        ARCHITECTURE.put("num_heads", "--num_heads / --arch");
        ARCHITECTURE.put("mlp_ratio", "--arch");
        ARCHITECTURE.put("qkv_bias", "--arch");
        ARCHITECTURE.put("out_dim", "--out_dim");
        ARCHITECTURE.put("patch_out_dim", "--patch_out_dim");
        ARCHITECTURE.put("hidden_dim", "--head_hidden_dim");
        ARCHITECTURE.put("bottleneck_dim", "--head_bottleneck_dim");
        ARCHITECTURE.put("shared_head", "--shared_head");
        ARCHITECTURE.put("shared_head_teacher", "--shared_head_teacher");
        ARCHITECTURE.put("norm_last_layer", "--norm_last_layer");
    }

    /**
     * What was loaded.
     *
     * @param source the file read (a run folder's newest checkpoint when a folder was given)
     * @param kind "ibot4j checkpoint", "official iBOT checkpoint" or "backbone-only file"
     * @param loaded number of model tensors written from the file
     * @param fresh parts of the model the file lacked, as a new run initialises them ("student head", "center", ...)
     */
    public record Loaded(Path source, String kind, int loaded, List<String> fresh) {}

    private InitialWeights() {}

    /**
     * A new run's model: initialised from the seed, then given the weights of {@code --load_from} when
     * set, or the backbone of {@code --init_backbone} ({@code backbone}, read when the run was prepared; null
     * without) (the schedules, the step count and the optimiser state stay new). {@code out} is null on ranks that
     * do not report. {@code distillationTeacher} ({@code --distill_from}, null without) becomes the frozen teacher of
     * feature distillation.
     */
    public static IbotModel newModel(PretrainSetup setup, InitialBackbone backbone, InitialBackbone distillationTeacher, PrintStream out)
            throws IOException {
        IbotModel model = IbotModel.create(setup.model());
        if (distillationTeacher != null) {
            try {
                int written = distillationTeacher.applyAsDistillationTeacher(model);
                if (out != null) {
                    out.printf(Locale.ROOT, "distill_from: %d tensors from %s (%s backbone), a frozen teacher%n", written, distillationTeacher.file(),
                            distillationTeacher.family().label());
                }
            } catch (RuntimeException e) {
                model.close();
                throw e;
            }
        }
        String from = setup.options().loadFrom;
        if (backbone != null) {
            try {
                int written = backbone.applyTo(model);
                if (out != null) {
                    out.printf(Locale.ROOT, "init_backbone: %d tensors from %s (%s backbone) into student and teacher; new heads, step 0%n",
                            written, backbone.file(), backbone.family().label());
                }
                return model;
            } catch (RuntimeException e) {
                model.close();
                throw e;
            }
        }
        if (from.isBlank()) return model;
        try {
            Loaded loaded = apply(model, Path.of(from));
            if (out != null) {
                out.printf(Locale.ROOT, "load_from: %d tensors from %s (%s); a new run: step 0, new schedules, new optimiser state%n",
                        loaded.loaded(), loaded.source(), loaded.kind());
                if (!loaded.fresh().isEmpty()) {
                    out.println("fresh (not in the file, initialised as a new run): " + String.join(", ", loaded.fresh()));
                }
            }
            return model;
        } catch (IOException | RuntimeException e) {
            model.close();
            throw e;
        }
    }

    /** Writes the weights of {@code given} into {@code model}, a freshly created model of the new run. */
    public static Loaded apply(IbotModel model, Path given) throws IOException {
        if (Files.isDirectory(given) || CheckpointFiles.isLibTorchArchive(given)) return fromCheckpoint(model, CheckpointStore.resolve(given));
        if (!Files.isRegularFile(given)) {
            throw new IllegalArgumentException("--load_from " + given + ": no such file or folder");
        }
        Map<String, PthReader.FloatTensor> named = WeightExchange.toIbot4jNames(WeightExchange.read(given));
        boolean heads = named.containsKey("student.head.mlp.0.weight");
        IbotConfig target = model.config();
        IbotConfigBuilder inferred = WeightExchange.inferConfig(named, target.numHeads())
                // Not readable from weights: the new run's choice stands.
                .normLastLayer(target.normLastLayer()).sharedHeadTeacher(target.sharedHeadTeacher());
        if (!heads) {
            inferred.outDim(target.outDim()).patchOutDim(target.patchOutDim()).hiddenDim(target.hiddenDim())
                    .bottleneckDim(target.bottleneckDim()).sharedHead(target.sharedHead());
        }
        requireSameArchitecture(given, inferred.build(), target);
        WeightExchange.ImportReport report = WeightExchange.apply(model, named);
        if (!report.unknown().isEmpty()) {
            throw new IllegalArgumentException("--load_from " + given + ": tensors this run's model has no place for: "
                    + String.join(", ", report.unknown()));
        }
        return new Loaded(given, heads ? "official iBOT checkpoint" : "backbone-only file", report.loaded().size(),
                parts(report.missing()));
    }

    private static Loaded fromCheckpoint(IbotModel model, Path checkpoint) {
        IbotConfig stored = IbotModel.readConfig(checkpoint);
        requireSameArchitecture(checkpoint, stored, model.config());
        List<String> names = model.tensorNames();
        // On this run's device: a checkpoint written on a GPU seeds a CPU run too.
        IbotConfig onThisDevice = stored.toBuilder().numThreads(model.config().numThreads()).device(model.config().device())
                .bf16Autocast(model.config().bf16Autocast()).build();
        try (IbotModel source = IbotModel.create(onThisDevice)) {
            source.load(checkpoint);
            List<String> available = source.tensorNames();
            for (String name : names) if (available.contains(name)) model.writeTensor(name, source.readTensor(name));
            return new Loaded(checkpoint, "ibot4j checkpoint", (int) names.stream().filter(available::contains).count(),
                    parts(names.stream().filter(n -> !available.contains(n)).toList()));
        }
    }

    /** Every architecture field that differs, with the option that sets it. */
    static void requireSameArchitecture(Path file, IbotConfig source, IbotConfig target) {
        JsonNode a = source.toJson(), b = target.toJson();
        List<String> differences = new ArrayList<>();
        for (Map.Entry<String, String> field : ARCHITECTURE.entrySet()) {
            JsonNode x = a.get(field.getKey()), y = b.get(field.getKey());
            if (x == null || y == null) throw new IllegalStateException("IbotConfig has no field " + field.getKey());
            if (!x.equals(y) && !(x.isNumber() && y.isNumber() && x.asDouble() == y.asDouble())) {
                differences.add(field.getKey() + ": " + x + " in the file, " + y + " in this run (" + field.getValue() + ")");
            }
        }
        if (!differences.isEmpty()) {
            throw new IllegalArgumentException("--load_from " + file + ": the architecture differs from this run's; give the file's values:\n  "
                    + String.join("\n  ", differences));
        }
    }

    /** Missing tensor names grouped into the parts a user knows by name. */
    static List<String> parts(List<String> missing) {
        Set<String> parts = new LinkedHashSet<>();
        for (String name : missing) {
            if (name.startsWith("student.head.")) parts.add("student head");
            else if (name.startsWith("teacher.head.")) parts.add("teacher head");
            else if (name.equals("loss.center")) parts.add("center");
            else if (name.equals("loss.center2")) parts.add("center2 (patch centre)");
            else if (name.equals("student.backbone.masked_embed")) parts.add("student mask token");
            else parts.add(name);
        }
        return List.copyOf(parts);
    }
}
