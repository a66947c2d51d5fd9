package org.ibot4j.trainer.run.checkpoints;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.ibot4j.api.Family;
import org.ibot4j.api.IbotConfig;
import org.ibot4j.api.IbotModel;
import org.ibot4j.api.io.CheckpointFiles;
import org.ibot4j.api.io.FoundationLayouts;
import org.ibot4j.api.io.PthReader;
import org.ibot4j.api.io.WeightExchange;

/**
 * {@code --init_backbone}: the backbone a new run's student and teacher start from, with new heads (an adapted
 * foundation model). Read and checked against the run's architecture when the run is prepared, before it writes
 * anything: a file of another family than {@code --arch}, or of another size, is refused with a sentence naming
 * both. Any layout the importer reads: timm / Hugging Face safetensors and {@code .pth}, Meta's hub files, official
 * iBOT checkpoints (their teacher), ibot4j exports, and ibot4j checkpoints or run folders (their teacher).
 *
 * @param file the file read
 * @param family the file's backbone family
 * @param tensors the backbone's tensors by timm name (no prefix), the student's mask token among them when the file has one
 * @param positionsFor the image size the file's learned position embedding is for; 0 for RoPE (DINOv3)
 */
public record InitialBackbone(Path file, Family family, Map<String, PthReader.FloatTensor> tensors, int positionsFor) {
    private static final String MASK_TOKEN = "masked_embed";

    /**
     * Reads {@code given} and checks it against {@code target}, the run's model configuration.
     *
     * @param arch the run's {@code --arch}, for the messages
     * @throws IllegalArgumentException naming what differs (family, sizes) or what the file is not
     * @throws IOException when the file cannot be read
     */
    public static InitialBackbone read(Path given, IbotConfig target, String arch) throws IOException {
        return read(given, target, new Flags("--init_backbone", "--arch", arch));
    }

    /**
     * The same for the frozen teacher of feature distillation ({@code --distill_from}), checked against {@code target}'s
     * {@link IbotConfig#distillTeacher()}: a teacher narrower or shallower than {@code --distill_arch} asks is refused.
     */
    public static InitialBackbone readDistillationTeacher(Path given, IbotConfig target, String arch) throws IOException {
        return read(given, target.distillTeacher(), new Flags("--distill_from", "--distill_arch", arch));
    }

    /** The options the messages name: the file's, the architecture's, and the architecture given. */
    private record Flags(String file, String archOption, String arch) {
        /** The option of a size: --embed_dim or --distill_embed_dim. */
        String size(String name) {
            return archOption + " / " + archOption.replace("arch", name);
        }
    }

    private static InitialBackbone read(Path given, IbotConfig target, Flags flags) throws IOException {
        String option = flags.file();
        if (!Files.exists(given)) throw new IllegalArgumentException(option + " " + given + ": no such file or folder");
        if (Files.isDirectory(given) || CheckpointFiles.isLibTorchArchive(given)) return fromCheckpoint(CheckpointStore.resolve(given), target, flags);
        Map<String, PthReader.FloatTensor> named;
        try {
            named = WeightExchange.toIbot4jNames(WeightExchange.read(given));
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException(option + " " + given + " is not a PyTorch .pth, .safetensors or ibot4j checkpoint "
                    + "that ibot4j can read (" + e.getMessage() + ")", e);
        }
        Map<String, PthReader.FloatTensor> backbone = new LinkedHashMap<>();
        named.forEach((k, v) -> {
            if (k.startsWith("teacher.backbone.")) backbone.put(k.substring("teacher.backbone.".length()), v);
        });
        PthReader.FloatTensor mask = named.get("student.backbone." + MASK_TOKEN);
        if (!backbone.containsKey("cls_token")) {
            throw new IllegalArgumentException(option + " " + given + " holds no ViT backbone (no cls_token among its tensors)");
        }
        Family family = FoundationLayouts.family(backbone).orElse(Family.IBOT);
        requireFamily(given, family, target, flags);
        IbotConfig found = WeightExchange.inferConfig(named, target.numHeads()).build();
        requireSameBackbone(given, found, target, flags);
        if (mask != null) backbone.put(MASK_TOKEN, mask);
        return new InitialBackbone(given, family, backbone, family == Family.DINOV3 ? 0 : found.imgSize());
    }

    private static InitialBackbone fromCheckpoint(Path checkpoint, IbotConfig target, Flags flags) {
        IbotConfig stored = IbotModel.readConfig(checkpoint);
        requireFamily(checkpoint, stored.family(), target, flags);
        requireSameBackbone(checkpoint, stored, target, flags);
        IbotConfig here = stored.toBuilder().numThreads(target.numThreads()).device(target.device()).bf16Autocast(false).forceBf16(false)
                .build();
        Map<String, PthReader.FloatTensor> backbone = new LinkedHashMap<>();
        try (IbotModel source = IbotModel.create(here)) {
            source.load(checkpoint);
            for (String name : source.tensorNames()) {
                if (name.startsWith("teacher.backbone.")) {
                    backbone.put(name.substring("teacher.backbone.".length()), new PthReader.FloatTensor(source.tensorShape(name), source.readTensor(name)));
                }
            }
            backbone.put(MASK_TOKEN, new PthReader.FloatTensor(source.tensorShape("student.backbone." + MASK_TOKEN),
                    source.readTensor("student.backbone." + MASK_TOKEN)));
        }
        return new InitialBackbone(checkpoint, stored.family(), backbone, stored.family() == Family.DINOV3 ? 0 : stored.imgSize());
    }

    /**
     * Writes the backbone into both networks of {@code model}, a new run's (with learned positions: made for
     * {@link #positionsFor} px, {@code PretrainSetup.withPositionsFor}): every backbone tensor of the model must be in
     * the file (DINOv3's RoPE periods excepted: timm's files carry none, the model's are timm's) and none left over.
     *
     * @return the number of tensors written
     */
    public int applyTo(IbotModel model) {
        return write(model, List.of("student.backbone.", "teacher.backbone."), FoundationLayouts.archName(model.config()));
    }

    /** Writes the backbone into the frozen teacher of feature distillation ({@code distill.backbone.*}); returns the tensors written. */
    public int applyAsDistillationTeacher(IbotModel model) {
        return write(model, List.of("distill.backbone."), FoundationLayouts.archName(model.config().distillTeacher()));
    }

    private int write(IbotModel model, List<String> prefixes, Optional<String> arch) {
        List<String> names = model.tensorNames();
        List<String> expected = new ArrayList<>();
        String last = prefixes.getLast();
        for (String name : names) if (name.startsWith(last)) expected.add(name.substring(last.length()));
        Map<String, PthReader.FloatTensor> withoutMask = new LinkedHashMap<>(tensors);
        PthReader.FloatTensor mask = withoutMask.remove(MASK_TOKEN);
        String what = file + " does not fit " + arch.orElse(family.label() + " ViT");
        Map<String, PthReader.FloatTensor> fitted = FoundationLayouts.fit(expected, withoutMask, what);
        List<String> problems = new ArrayList<>();
        for (Map.Entry<String, PthReader.FloatTensor> e : fitted.entrySet()) {
            long[] shape = model.tensorShape(last + e.getKey());
            if (!Arrays.equals(shape, e.getValue().shape())) {
                problems.add(e.getKey() + ": file " + Arrays.toString(e.getValue().shape()) + ", model " + Arrays.toString(shape));
            }
        }
        if (!problems.isEmpty()) throw new IllegalArgumentException(what + ": shapes differ\n  " + String.join("\n  ", problems));
        int written = 0;
        for (Map.Entry<String, PthReader.FloatTensor> e : fitted.entrySet()) {
            for (String prefix : prefixes) {
                model.writeTensor(prefix + e.getKey(), e.getValue().data());
                written++;
            }
        }
        String maskName = prefixes.getFirst() + MASK_TOKEN;
        if (mask != null && names.contains(maskName) && Arrays.equals(model.tensorShape(maskName), mask.shape())) {
            model.writeTensor(maskName, mask.data());
            written++;
        }
        return written;
    }

    private static void requireFamily(Path file, Family found, IbotConfig target, Flags flags) {
        if (found == target.family()) return;
        throw new IllegalArgumentException(String.format(Locale.ROOT, "%s %s holds a %s backbone, but %s %s is a %s one; "
                + "name an arch of the file's family (%s)", flags.file(), file, found.label(), flags.archOption(), flags.arch(),
                target.family().label(), examples(found)));
    }

    private static String examples(Family family) {
        return switch (family) {
            case DINOV2 -> "e.g. vit_small_patch14_dinov2, vit_small_patch14_reg4_dinov2";
            case DINOV3 -> "e.g. vit_small_patch16_dinov3, vit_small_plus_patch16_dinov3";
            case IBOT -> "e.g. vit_small, vit_tiny";
        };
    }

    /** The backbone fields of the two configurations, each difference named with the option that sets it. */
    private static void requireSameBackbone(Path file, IbotConfig found, IbotConfig target, Flags flags) {
        List<String> differences = new ArrayList<>();
        String arch = flags.archOption();
        differ(differences, "embed_dim", found.embedDim(), target.embedDim(), flags.size("embed_dim"));
        differ(differences, "depth", found.depth(), target.depth(), flags.size("depth"));
        differ(differences, "patch_size", found.patchSize(), target.patchSize(), arch.replace("arch", "patch_size"));
        differ(differences, "num_register_tokens", found.numRegisterTokens(), target.numRegisterTokens(), arch + ": a _reg4 name or not");
        differ(differences, "swiglu", found.swiglu(), target.swiglu(), arch);
        differ(differences, "mlp_ratio", found.mlpRatio(), target.mlpRatio(), arch);
        if (!differences.isEmpty()) {
            throw new IllegalArgumentException(flags.file() + " " + file + ": the backbone differs from " + arch + "'s; give the file's values:\n  "
                    + String.join("\n  ", differences));
        }
    }

    private static void differ(List<String> out, String field, Object inFile, Object inRun, String option) {
        if (!inFile.equals(inRun)) out.add(field + ": " + inFile + " in the file, " + inRun + " in this run (" + option + ")");
    }
}
