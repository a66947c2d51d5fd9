package org.ibot4j.trainer.pretrain;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The options of {@code ibot4j pretrain}, named as {@code main_ibot.py} names them, with ibot4j's few
 * additions. Defaults are the published ViT-S/16 run (the repository README's command), not the bare
 * code defaults (see the spec, section 11). Values come from the defaults, then a config file, then
 * flags; {@link #explicit} remembers which were given so data-dependent defaults never override a choice.
 */
public final class PretrainOptions {
    /** How an option's text is read. */
    public enum Kind { INT, DOUBLE, BOOL, STRING, DOUBLES }

    public record Option(String name, Kind kind, Object defaultValue, String help, List<String> choices) {}

    private static final Map<String, Option> OPTIONS = new LinkedHashMap<>();
    /** Official spellings that name the same option as an ibot4j one. */
    private static final Map<String, String> ALIASES = Map.of("data", "data_path", "output", "output_dir",
            "batch_size", "batch_size_per_gpu", "workers", "num_workers", "save_every", "saveckp_iters");

    static {
        // Model
        add("arch", Kind.STRING, "vit_small", "backbone size", "vit_tiny", "vit_small", "vit_base", "vit_large");
        add("patch_size", Kind.INT, 16, "patch size in pixels (4 for images of 64 px or less when not given)");
        add("embed_dim", Kind.INT, 0, "override the arch's width (0: the arch's)");
        add("depth", Kind.INT, 0, "override the arch's number of blocks (0: the arch's)");
        add("num_heads", Kind.INT, 0, "override the arch's attention heads (0: the arch's)");
        add("drop_path", Kind.DOUBLE, 0.1, "stochastic depth rate of the student");
        add("out_dim", Kind.INT, 8192, "dimension of the [CLS] head output");
        add("patch_out_dim", Kind.INT, 8192, "dimension of the patch head output");
        add("head_hidden_dim", Kind.INT, 2048, "hidden width of the head MLP");
        add("head_bottleneck_dim", Kind.INT, 256, "bottleneck width of the head");
        add("shared_head", Kind.BOOL, true, "one head for [CLS] and patch tokens in the student");
        add("shared_head_teacher", Kind.BOOL, true, "one head for [CLS] and patch tokens in the teacher");
        add("norm_last_layer", Kind.BOOL, false, "weight-normalise the head's last layer with g fixed to 1");
        // Masked image modelling
        add("use_masked_im_modeling", Kind.BOOL, true, "mask patches of the student's global crops");
        add("pred_ratio", Kind.DOUBLES, new double[] {0, 0.3}, "masking ratio(s); one is picked per crop");
        add("pred_ratio_var", Kind.DOUBLES, new double[] {0, 0.2}, "half-width of the uniform draw around each pred_ratio");
        add("pred_shape", Kind.STRING, "block", "mask shape", "block", "rand");
        add("pred_start_epoch", Kind.INT, 0, "first epoch with masking");
        add("lambda1", Kind.DOUBLE, 1.0, "weight of the [CLS] (self-distillation) loss");
        add("lambda2", Kind.DOUBLE, 1.0, "weight of the masked-patch loss");
        // Teacher
        add("momentum_teacher", Kind.DOUBLE, 0.996, "EMA momentum at the start, cosine to 1");
        add("warmup_teacher_temp", Kind.DOUBLE, 0.04, "teacher [CLS] temperature at the start of its warm-up");
        add("teacher_temp", Kind.DOUBLE, 0.07, "teacher [CLS] temperature after the warm-up");
        add("warmup_teacher_patch_temp", Kind.DOUBLE, 0.04, "teacher patch temperature at the start of its warm-up");
        add("teacher_patch_temp", Kind.DOUBLE, 0.07, "teacher patch temperature after the warm-up");
        add("warmup_teacher_temp_epochs", Kind.INT, 30, "epochs of linear teacher-temperature warm-up");
        // Optimisation
        add("use_fp16", Kind.BOOL, false, "fp16 mixed precision: not supported (CPU and bf16 only); see --bf16");
        add("bf16", Kind.BOOL, false, "bf16 autocast (CUDA only)");
        add("weight_decay", Kind.DOUBLE, 0.04, "weight decay at the start, cosine to weight_decay_end");
        add("weight_decay_end", Kind.DOUBLE, 0.4, "weight decay at the end");
        add("clip_grad", Kind.DOUBLE, 3.0, "per-parameter gradient norm clip (0 disables)");
        add("batch_size_per_gpu", Kind.INT, 128, "images per step (one process: the global batch)");
        add("epochs", Kind.INT, 100, "length of the schedules in epochs");
        add("freeze_last_layer", Kind.INT, 1, "epochs during which the head's last layer is not updated");
        add("lr", Kind.DOUBLE, 5e-4, "peak learning rate per 256 images (scaled by batch/256)");
        add("warmup_epochs", Kind.INT, 10, "epochs of linear learning-rate warm-up");
        add("min_lr", Kind.DOUBLE, 1e-6, "learning rate at the end of the cosine");
        add("optimizer", Kind.STRING, "adamw", "optimiser", "adamw");
        // Multi-crop
        add("global_crops_number", Kind.INT, 2, "global crops per image", "2");
        add("global_crops_scale", Kind.DOUBLES, new double[] {0.25, 1.0}, "area range of global crops");
        add("local_crops_number", Kind.INT, 10, "local crops per image");
        add("local_crops_scale", Kind.DOUBLES, new double[] {0.05, 0.25}, "area range of local crops");
        add("global_crop_size", Kind.INT, 224, "global crop side in pixels (32 for images of 64 px or less when not given)");
        add("local_crop_size", Kind.INT, 96, "local crop side in pixels (16 for images of 64 px or less when not given)");
        add("mean", Kind.DOUBLES, new double[] {0.485, 0.456, 0.406}, "normalisation mean per channel (one value: all channels)");
        add("std", Kind.DOUBLES, new double[] {0.229, 0.224, 0.225}, "normalisation std per channel (one value: all channels)");
        // Run
        add("data_path", Kind.STRING, "", "image folder, IDX or CIFAR-10 folder, list file, or 'fashion-mnist'");
        add("subset", Kind.INT, 0, "train on the first N images only (0: all)");
        add("output_dir", Kind.STRING, "", "folder for checkpoints, metrics and the loss curve");
        add("seed", Kind.INT, 0, "seed of initialisation, crops, masks and drop-path");
        add("max_steps", Kind.INT, 0, "stop after this many optimiser steps in total, across resumes (0: the whole schedule)");
        add("saveckp_iters", Kind.INT, 0, "checkpoint every N steps (0: once per saveckp_freq epochs)");
        add("saveckp_freq", Kind.INT, 1, "checkpoint every N epochs when saveckp_iters is 0");
        add("keep_checkpoints", Kind.INT, 3, "number of recent checkpoints kept");
        add("resume", Kind.STRING, "auto", "'auto' (resume when output_dir holds a checkpoint), 'true' (require one), 'false', or a checkpoint file");
        add("num_workers", Kind.INT, 0, "loader threads (0: half the cores)");
        add("threads", Kind.INT, 0, "LibTorch intra-op threads (0: the cores)");
        add("device", Kind.STRING, "cpu", "cpu or cuda", "cpu", "cuda");
        add("max_nonfinite", Kind.INT, 3, "stop after this many non-finite losses in a row");
        add("knn_every", Kind.INT, 0, "k-NN monitor every N epochs (0: off; needs labelled data with a test split)");
        add("knn_train", Kind.INT, 10000, "k-NN memory images for the monitor");
        add("knn_test", Kind.INT, 2000, "k-NN query images for the monitor");
    }

    private static void add(String name, Kind kind, Object defaultValue, String help, String... choices) {
        OPTIONS.put(name, new Option(name, kind, defaultValue, help, List.of(choices)));
    }

    private final Map<String, Object> values = new LinkedHashMap<>();
    private final Set<String> explicit = new LinkedHashSet<>();

    private PretrainOptions() {
        OPTIONS.values().forEach(o -> values.put(o.name(), o.defaultValue()));
    }

    public static PretrainOptions defaults() {
        return new PretrainOptions();
    }

    public static List<Option> all() {
        return List.copyOf(OPTIONS.values());
    }

    /**
     * Applies {@code given} (from a config file or flags, names with '-' or '_', official aliases allowed);
     * every unknown name and unreadable value is reported together.
     */
    public PretrainOptions apply(Map<String, ?> given, String origin) {
        List<String> problems = new ArrayList<>();
        given.forEach((rawName, raw) -> {
            String name = canonical(rawName);
            Option o = OPTIONS.get(name);
            if (o == null) {
                problems.add("unknown option '" + rawName + "'" + suggestion(name));
                return;
            }
            try {
                values.put(name, parse(o, raw));
                explicit.add(name);
            } catch (IllegalArgumentException e) {
                problems.add(name + ": " + e.getMessage());
            }
        });
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException("bad options in " + origin + ":\n  " + String.join("\n  ", problems));
        }
        return this;
    }

    /** Sets a value as if the user had not (a data-dependent or preset default). */
    public PretrainOptions setDefault(String name, Object value) {
        String n = canonical(name);
        if (!explicit.contains(n)) values.put(n, parse(option(n), value));
        return this;
    }

    public boolean isExplicit(String name) {
        return explicit.contains(canonical(name));
    }

    public static String canonical(String name) {
        String n = name.replace('-', '_');
        return ALIASES.getOrDefault(n, n);
    }

    private static Option option(String name) {
        Option o = OPTIONS.get(name);
        if (o == null) throw new IllegalArgumentException("unknown option '" + name + "'");
        return o;
    }

    private static String suggestion(String name) {
        List<String> close = OPTIONS.keySet().stream()
                .filter(k -> k.contains(name) || name.contains(k) || editDistance(k, name) <= 2).toList();
        return close.isEmpty() ? "" : " (did you mean " + String.join(", ", close) + "?)";
    }

    private static int editDistance(String a, String b) {
        int[] prev = new int[b.length() + 1], cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) prev[j] = j;
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                cur[j] = Math.min(Math.min(cur[j - 1], prev[j]) + 1, prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1));
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }

    /** Reads a flag's text, a config file's scalar or list, or a Java value. */
    private static Object parse(Option o, Object raw) {
        if (raw instanceof List<?> list) {
            if (o.kind() != Kind.DOUBLES) {
                if (list.size() != 1) throw new IllegalArgumentException("takes one value, got " + list);
                return parse(o, list.get(0));
            }
            return list.stream().mapToDouble(v -> number(String.valueOf(v))).toArray();
        }
        if (raw instanceof double[] d) {
            if (o.kind() != Kind.DOUBLES) throw new IllegalArgumentException("takes one value, got " + Arrays.toString(d));
            return d.clone();
        }
        String text = String.valueOf(raw).trim();
        Object value = switch (o.kind()) {
            case INT -> {
                double d = number(text);
                if (d != Math.rint(d) || Math.abs(d) > Integer.MAX_VALUE) throw new IllegalArgumentException("'" + text + "' is not an integer");
                yield (int) d;
            }
            case DOUBLE -> number(text);
            case BOOL -> bool(text);
            case STRING -> text;
            case DOUBLES -> Arrays.stream(text.replace("[", "").replace("]", "").split("[\\s,]+"))
                    .filter(s -> !s.isEmpty()).mapToDouble(PretrainOptions::number).toArray();
        };
        if (!o.choices().isEmpty() && !o.choices().contains(String.valueOf(value))) {
            throw new IllegalArgumentException("'" + text + "' is not one of " + o.choices());
        }
        return value;
    }

    private static double number(String text) {
        try {
            double d = Double.parseDouble(text);
            if (!Double.isFinite(d)) throw new NumberFormatException();
            return d;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + text + "' is not a number");
        }
    }

    /** The official bool_flag's spellings. */
    private static boolean bool(String text) {
        return switch (text.toLowerCase(Locale.ROOT)) {
            case "true", "1", "on", "yes" -> true;
            case "false", "0", "off", "no" -> false;
            default -> throw new IllegalArgumentException("'" + text + "' is not a boolean (true/false, 1/0, on/off)");
        };
    }

    public int getInt(String name) {
        return (Integer) values.get(canonical(name));
    }

    public double getDouble(String name) {
        return (Double) values.get(canonical(name));
    }

    public boolean getBool(String name) {
        return (Boolean) values.get(canonical(name));
    }

    public String getString(String name) {
        return (String) values.get(canonical(name));
    }

    public double[] getDoubles(String name) {
        return ((double[]) values.get(canonical(name))).clone();
    }

    /** Every value, for the run's options.json and checkpoint metadata (lists as lists). */
    public Map<String, Object> asMap() {
        Map<String, Object> out = new LinkedHashMap<>();
        values.forEach((k, v) -> out.put(k, v instanceof double[] d ? Arrays.stream(d).boxed().toList() : v));
        return Collections.unmodifiableMap(out);
    }

    public static String helpText() {
        return OPTIONS.values().stream().map(o -> String.format(Locale.ROOT, "  --%-28s %s (default %s)%s", o.name(), o.help(),
                o.defaultValue() instanceof double[] d ? Arrays.stream(d).mapToObj(PretrainOptions::plain).collect(Collectors.joining(" "))
                        : o.defaultValue().toString().isEmpty() ? "none" : o.defaultValue(),
                o.choices().size() > 1 ? "; one of " + String.join(", ", o.choices()) : "")).collect(Collectors.joining("\n"));
    }

    private static String plain(double d) {
        return d == Math.rint(d) ? String.valueOf((long) d) : String.valueOf(d);
    }
}
