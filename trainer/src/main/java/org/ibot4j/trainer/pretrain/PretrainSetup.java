package org.ibot4j.trainer.pretrain;

import java.util.ArrayList;
import java.util.List;
import org.ibot4j.api.Device;
import org.ibot4j.api.IbotConfig;
import org.ibot4j.trainer.data.BlockMaskGenerator;
import org.ibot4j.trainer.data.MaskRatio;
import org.ibot4j.trainer.data.MaskingPolicy;
import org.ibot4j.trainer.data.MultiCropAugmentation;
import org.ibot4j.trainer.data.MultiCropLoader;
import org.ibot4j.trainer.schedule.CosineSchedule;
import org.ibot4j.trainer.schedule.Schedules;
import org.ibot4j.trainer.schedule.TeacherTemperature;

/**
 * What a set of {@link PretrainOptions} means for one dataset: the model config, the multi-crop
 * augmentation, the masking policy and the per-iteration schedules (official formulas, epochs of
 * floor(images / batch) iterations, the last partial batch dropped as the official loader does).
 */
public record PretrainSetup(PretrainOptions options, IbotConfig model, MultiCropAugmentation augmentation, MaskingPolicy masking,
        Schedules schedules, int batchSize, long itersPerEpoch, long totalIters, int workers) {

    /** Largest image side (pixels) for which the small-image defaults apply. */
    public static final int SMALL_IMAGE = 64;

    /** Fills the defaults that depend on the data (crop and patch sizes for small images) and checks everything. */
    public static PretrainSetup of(PretrainOptions o, int datasetSize, int[] imageSize) {
        if (Math.max(imageSize[0], imageSize[1]) <= SMALL_IMAGE) {
            o.setDefault("global_crop_size", 32).setDefault("local_crop_size", 16).setDefault("patch_size", 4);
        }
        List<String> problems = new ArrayList<>();
        int batch = o.getInt("batch_size_per_gpu");
        int images = o.getInt("subset") > 0 ? Math.min(o.getInt("subset"), datasetSize) : datasetSize;
        long perEpoch = batch > 0 ? images / batch : 0;
        check(problems, batch > 0, "batch_size_per_gpu must be > 0");
        check(problems, batch <= 0 || perEpoch > 0, "the dataset has " + images + " images, fewer than one batch of " + batch);
        check(problems, o.getInt("epochs") > 0, "epochs must be > 0");
        check(problems, o.getInt("warmup_epochs") >= 0 && o.getInt("warmup_epochs") <= o.getInt("epochs"),
                "warmup_epochs (" + o.getInt("warmup_epochs") + ") must be in [0, epochs (" + o.getInt("epochs") + ")]");
        check(problems, o.getInt("warmup_teacher_temp_epochs") >= 0 && o.getInt("warmup_teacher_temp_epochs") <= o.getInt("epochs"),
                "warmup_teacher_temp_epochs (" + o.getInt("warmup_teacher_temp_epochs") + ") must be in [0, epochs (" + o.getInt("epochs") + ")]");
        check(problems, !o.getBool("use_fp16"),
                "use_fp16: fp16 mixed precision is not supported (the official default; ibot4j trains in fp32, or bf16 autocast on CUDA with --bf16)");
        check(problems, o.getInt("max_steps") >= 0 && o.getInt("saveckp_iters") >= 0 && o.getInt("saveckp_freq") > 0,
                "max_steps and saveckp_iters must be >= 0, saveckp_freq > 0");
        check(problems, o.getInt("keep_checkpoints") > 0, "keep_checkpoints must be > 0");
        check(problems, o.getDoubles("mean").length == 1 || o.getDoubles("mean").length == 3, "mean takes 1 or 3 values");
        check(problems, o.getDoubles("std").length == 1 || o.getDoubles("std").length == 3, "std takes 1 or 3 values");
        check(problems, range(o.getDoubles("global_crops_scale")) && range(o.getDoubles("local_crops_scale")),
                "global_crops_scale and local_crops_scale take two values 0 < min <= max <= 1");
        check(problems, o.getInt("local_crops_number") >= 0, "local_crops_number must be >= 0");
        check(problems, !o.getBool("bf16") || o.getString("device").equals("cuda"), "bf16 needs --device cuda");
        MaskingPolicy masking = null;
        try {
            masking = masking(o);
        } catch (IllegalArgumentException e) {
            problems.add(e.getMessage());
        }
        if (!problems.isEmpty()) throw new IllegalArgumentException("bad pretrain options:\n  " + String.join("\n  ", problems));

        IbotConfig.Builder b = IbotConfig.builder().arch(o.getString("arch"));
        if (o.getInt("embed_dim") > 0) b.embedDim(o.getInt("embed_dim"));
        if (o.getInt("depth") > 0) b.depth(o.getInt("depth"));
        if (o.getInt("num_heads") > 0) b.numHeads(o.getInt("num_heads"));
        IbotConfig model = b.imgSize(o.getInt("global_crop_size")).patchSize(o.getInt("patch_size")).inChans(3)
                .dropPathRate(o.getDouble("drop_path"))
                .outDim(o.getInt("out_dim")).patchOutDim(o.getInt("patch_out_dim"))
                .hiddenDim(o.getInt("head_hidden_dim")).bottleneckDim(o.getInt("head_bottleneck_dim"))
                .sharedHead(o.getBool("shared_head")).sharedHeadTeacher(o.getBool("shared_head_teacher"))
                .normLastLayer(o.getBool("norm_last_layer"))
                .lambda1(o.getDouble("lambda1")).lambda2(o.getDouble("lambda2"))
                .seed(o.getInt("seed"))
                .numThreads(o.getInt("threads") > 0 ? o.getInt("threads") : Runtime.getRuntime().availableProcessors())
                .device(o.getString("device").equals("cuda") ? Device.CUDA : Device.CPU)
                .bf16Autocast(o.getBool("bf16"))
                .build();
        MultiCropAugmentation augmentation = new MultiCropAugmentation(new MultiCropAugmentation.Options(
                o.getInt("global_crops_number"), o.getInt("local_crops_number"), o.getInt("global_crop_size"), o.getInt("local_crop_size"),
                o.getDoubles("global_crops_scale"), o.getDoubles("local_crops_scale"), channels(o.getDoubles("mean")),
                channels(o.getDoubles("std"))));
        long total = o.getInt("epochs") * perEpoch;
        int workers = o.getInt("num_workers") > 0 ? o.getInt("num_workers") : MultiCropLoader.defaultWorkers();
        return new PretrainSetup(o, model, augmentation, masking, schedules(o, batch, perEpoch), batch, perEpoch, total, workers);
    }

    /** The official schedules: lr scaled by batch/256 with a linear warm-up then cosine, wd and momentum cosine, temperatures per epoch. */
    static Schedules schedules(PretrainOptions o, int batch, long perEpoch) {
        long total = o.getInt("epochs") * perEpoch;
        double peakLr = o.getDouble("lr") * batch / 256.0;
        int warmupTempEpochs = o.getInt("warmup_teacher_temp_epochs");
        int predStart = o.getBool("use_masked_im_modeling") ? o.getInt("pred_start_epoch") : 0;
        return new Schedules(
                new CosineSchedule(peakLr, o.getDouble("min_lr"), total, o.getInt("warmup_epochs") * perEpoch, 0),
                new CosineSchedule(o.getDouble("weight_decay"), o.getDouble("weight_decay_end"), total, 0, 0),
                new CosineSchedule(o.getDouble("momentum_teacher"), 1.0, total, 0, 0),
                new TeacherTemperature(o.getDouble("warmup_teacher_temp"), o.getDouble("teacher_temp"), warmupTempEpochs, 0),
                new TeacherTemperature(o.getDouble("warmup_teacher_patch_temp"), o.getDouble("teacher_patch_temp"), warmupTempEpochs, predStart),
                o.getInt("freeze_last_layer"), perEpoch, o.getDouble("clip_grad"));
    }

    static MaskingPolicy masking(PretrainOptions o) {
        if (!o.getBool("use_masked_im_modeling")) {
            return new MaskingPolicy(BlockMaskGenerator.official(), new MaskRatio(new double[] {0}, new double[] {0}), 0);
        }
        double[] ratio = o.getDoubles("pred_ratio"), var = o.getDoubles("pred_ratio_var");
        if (var.length == 1 && ratio.length > 1) {  // as the official loader: one variance applies to every ratio
            double v = var[0];
            var = new double[ratio.length];
            java.util.Arrays.fill(var, v);
        }
        BlockMaskGenerator.Shape shape = o.getString("pred_shape").equals("rand") ? BlockMaskGenerator.Shape.RAND : BlockMaskGenerator.Shape.BLOCK;
        return new MaskingPolicy(new BlockMaskGenerator(shape, 0.3, 1 / 0.3), new MaskRatio(ratio, var), o.getInt("pred_start_epoch"));
    }

    /** Iterations this run trains in total: the schedule, or fewer with max_steps. */
    public long lastIteration() {
        int max = options.getInt("max_steps");
        return max > 0 ? Math.min(max, totalIters) : totalIters;
    }

    private static boolean range(double[] r) {
        return r.length == 2 && r[0] > 0 && r[0] <= r[1] && r[1] <= 1;
    }

    /** One value per channel; a single value applies to all three. */
    static float[] channels(double[] v) {
        return v.length == 1 ? new float[] {(float) v[0], (float) v[0], (float) v[0]}
                : new float[] {(float) v[0], (float) v[1], (float) v[2]};
    }

    private static void check(List<String> problems, boolean ok, String message) {
        if (!ok) problems.add(message);
    }
}
