package org.ibot4j.trainer.run;

import java.lang.reflect.RecordComponent;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.ibot4j.api.Arch;
import org.ibot4j.api.CpuTopology;
import org.ibot4j.api.Family;
import org.ibot4j.api.IbotConfig;
import org.ibot4j.api.IbotConfigBuilder;
import org.ibot4j.api.InvalidConfigException;

/**
 * The model options of a {@link PretrainOptions}: the {@link IbotConfig} they make, built in this one
 * place by component name, and its problems said in the options' names.
 */
final class ModelOptions {
    private ModelOptions() {}

    /**
     * The model config of {@code o}: every {@link IbotConfig} component takes the option of its own name
     * ({@link #OPTION_OF} names those spelt otherwise), except the {@link #NOT_OPTIONS}, which keep
     * {@link IbotConfigBuilder}'s defaults. So a new component with an option of the same name needs no
     * line here, and one with neither fails every run (and {@code PretrainSetupTest}) instead of being
     * ignored.
     */
    static IbotConfig of(PretrainOptions o) {
        return builder(o).build();
    }

    private static IbotConfigBuilder builder(PretrainOptions o) {
        IbotConfigBuilder b = IbotConfig.builder().arch(o.arch.name());
        for (RecordComponent c : IbotConfig.class.getRecordComponents()) {
            String name = c.getName();
            if (NOT_OPTIONS.contains(name)) continue;
            Object value = optionValue(o, OPTION_OF.getOrDefault(name, name));
            boolean archDefault = ARCH_SHAPE.contains(name) && ((Number) value).intValue() == 0;  // 0: the arch's
            if (name.equals("patchSize")) value = patchSize(o);
            if (name.equals("numThreads") && ((Number) value).intValue() == 0) value = CpuTopology.defaultThreads();
            if (!archDefault) b.set(name, value);
        }
        if (!o.distillFrom.isBlank() && Arch.ALL.stream().anyMatch(a -> a.name().equals(o.distillArch))) {
            // The teacher: the arch's layout and sizes (0 keeps them), its patch, crops of the run's size.
            IbotConfigBuilder teacher = IbotConfig.builder().arch(o.distillArch).imgSize(o.globalCropSize);
            if (o.distillEmbedDim > 0) teacher.embedDim(o.distillEmbedDim);
            if (o.distillDepth > 0) teacher.depth(o.distillDepth);
            if (o.distillNumHeads > 0) teacher.numHeads(o.distillNumHeads);
            int patch = o.distillPatchSize > 0 ? o.distillPatchSize : Arch.of(o.distillArch).patchSize();
            IbotConfig t = teacher.patchSize(patch).imgSize(o.globalCropSize).build();
            b.distillFrom(t, o.distillLossWeight);
        }
        return b;
    }

    /**
     * The model config's own checks ({@link IbotConfig}'s: one rule per model option, not repeated here),
     * said in the options' names, each option's problem once. Before the data is known the crop size is
     * not checked against the patch: images of {@value PretrainSetup#SMALL_IMAGE} px or less change both defaults.
     */
    static void problems(PretrainOptions o, boolean dataKnown, List<String> problems) {
        try {
            IbotConfigBuilder b = builder(o);
            if (!dataKnown) b.imgSize(Math.max(1, patchSize(o)));
            b.build();
        } catch (InvalidConfigException e) {
            for (String problem : e.problems()) {
                String said = problem;
                for (Map.Entry<String, String> n : OPTION_OF.entrySet()) {
                    said = said.replaceAll("(?<![a-z_])" + snake(n.getKey()) + "(?![a-z_])", snake(n.getValue()));
                }
                String option = said.split("[ ,]", 2)[0];
                if (problems.stream().noneMatch(p -> p.startsWith(option + " "))) problems.add(said);
            }
        }
    }

    /** The patch: a DINOv2 / DINOv3 name says its own (14 or 16), which only a given --patch_size overrides. */
    static int patchSize(PretrainOptions o) {
        return o.arch.family() != Family.IBOT && !o.isExplicit("patch_size") ? o.arch.patchSize() : o.patchSize;
    }

    private static String snake(String camel) {
        return camel.replaceAll("([a-z0-9])([A-Z])", "$1_$2").toLowerCase(Locale.ROOT);
    }

    /** IbotConfig components whose option is spelt otherwise: component to option field. */
    static final Map<String, String> OPTION_OF = Map.of("imgSize", "globalCropSize", "dropPathRate", "dropPath", "hiddenDim", "headHiddenDim",
            "bottleneckDim", "headBottleneckDim", "numThreads", "threads", "bf16Autocast", "bf16");
    /**
     * IbotConfig components no option sets: the official recipe's constants (and 3 input channels), the
     * backbone family's layout, which {@code --arch} sets (DINOv2 / DINOv3: registers, LayerScale, SwiGLU), and the
     * distillation teacher's, which {@code --distill_from} with {@code --distill_arch} sets (above).
     */
    static final Set<String> NOT_OPTIONS = Set.of("inChans", "mlpRatio", "qkvBias", "studentTemp", "centerMomentum", "centerMomentum2",
            "beta1", "beta2", "eps", "family", "numRegisterTokens", "layerScaleInit", "swiglu", "distillLossWeight", "distillFamily",
            "distillImgSize", "distillPatchSize", "distillEmbedDim", "distillDepth", "distillNumHeads", "distillMlpRatio", "distillQkvBias",
            "distillNumRegisterTokens", "distillLayerScaleInit", "distillSwiglu");
    /** Options of the arch's shape, where 0 keeps the arch's value. */
    private static final Set<String> ARCH_SHAPE = Set.of("embedDim", "depth", "numHeads");

    private static Object optionValue(PretrainOptions o, String field) {
        try {
            return PretrainOptions.class.getField(field).get(o);
        } catch (NoSuchFieldException e) {
            throw new IllegalStateException("IbotConfig has a component with no option '" + field + "' in PretrainOptions: add the option, "
                    + "or name it in ModelOptions.OPTION_OF, or list the component in ModelOptions.NOT_OPTIONS");
        } catch (IllegalAccessException e) {
            throw new IllegalStateException(e);
        }
    }
}
