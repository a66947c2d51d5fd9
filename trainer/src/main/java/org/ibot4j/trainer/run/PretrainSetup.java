package org.ibot4j.trainer.run;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.ibot4j.api.Arch;
import org.ibot4j.api.Centering;
import org.ibot4j.api.Family;
import org.ibot4j.api.IbotConfig;
import org.ibot4j.api.ProcessLimits;
import org.ibot4j.api.image.EvalTransform;
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
        Schedules schedules, int batchSize, long itersPerEpoch, long totalIters, int workers, int worldSize) {

    /** Largest image side (pixels) for which the small-image defaults apply. */
    public static final int SMALL_IMAGE = 64;

    /**
     * Small images (Fashion-MNIST, CIFAR) on a laptop-class machine: the published run's 224/96 px crops,
     * 8192-wide heads, 10 local crops and 128 images a step took 18-25 s a step and 8.4 GB on two cores
     * with vit_tiny; these take about 3 s and 2 GB (measured, docs/benchmarks.md). Patch 8 and the milder
     * crop scales are the recipe search's (docs/demo.md, Fashion-MNIST): patch 8 trained 3.5 times the steps
     * a second of patch 4 and reached 11 points more k-NN in 400 steps; at 0.05 of a 28-px image a local
     * crop is a few grey pixels, and 0.5-1 / 0.15-0.5 ended 1.4 points higher at 896 steps (against a run that
     * also had KoLeo 0.3 instead of 0.1). Options given on the
     * command line, in a config file or in a recipe are kept.
     */
    static void applySmallImageDefaults(PretrainOptions o) {
        if (!o.isExplicit("global_crop_size")) o.globalCropSize = 32;
        if (!o.isExplicit("local_crop_size")) o.localCropSize = 16;
        if (!o.isExplicit("patch_size") && o.arch.family() == Family.IBOT) o.patchSize = 8;  // a DINO name keeps its own patch
        if (!o.isExplicit("global_crops_scale")) o.globalCropsScale = new double[] {0.5, 1.0};
        if (!o.isExplicit("local_crops_scale")) o.localCropsScale = new double[] {0.15, 0.5};
        if (!o.isExplicit("out_dim")) o.outDim = 1024;
        if (!o.isExplicit("patch_out_dim")) o.patchOutDim = 1024;
        if (!o.isExplicit("head_hidden_dim")) o.headHiddenDim = 1024;
        if (!o.isExplicit("local_crops_number")) o.localCropsNumber = 4;
        if (!o.isExplicit("batch_size_per_gpu")) o.batchSizePerGpu = 64;
    }

    /**
     * Fills the defaults that depend on the data (crop and patch sizes for small images) into a copy of
     * {@code o}, {@link #options()} of the result, and checks everything; {@code o} itself is left as given.
     */
    public static PretrainSetup of(PretrainOptions o, int datasetSize, int[] imageSize) {
        return of(o, datasetSize, imageSize, 1);
    }

    /**
     * The same for one of {@code worldSize} data-parallel processes: each takes batch_size_per_gpu images
     * per step, an epoch has floor(images / (batch * world)) steps and the lr scales with the global batch.
     */
    public static PretrainSetup of(PretrainOptions given, int datasetSize, int[] imageSize, int worldSize) {
        PretrainOptions o = given.copy();
        if (Math.max(imageSize[0], imageSize[1]) <= SMALL_IMAGE) applySmallImageDefaults(o);
        List<String> problems = valueProblems(o);
        ModelOptions.problems(o, true, problems);
        int batch = o.batchSizePerGpu;
        int images = o.subset > 0 ? Math.min(o.subset, datasetSize) : datasetSize;
        long globalBatch = (long) batch * worldSize;
        long perEpoch = batch > 0 ? images / globalBatch : 0;
        // Checks across options run on the options a resume merged (a given --epochs may meet stored warm-ups).
        check(problems, o.warmupEpochs <= o.epochs, "warmup_epochs (" + o.warmupEpochs + ") must be in [0, epochs (" + o.epochs + ")]");
        check(problems, o.warmupTeacherTempEpochs <= o.epochs,
                "warmup_teacher_temp_epochs (" + o.warmupTeacherTempEpochs + ") must be in [0, epochs (" + o.epochs + ")]");
        check(problems, o.koleoLossWeight == 0 || batch >= 2,
                "koleo_loss_weight " + o.koleoLossWeight + " needs batch_size_per_gpu >= 2 (a nearest neighbour in the batch), got " + batch);
        check(problems, o.freezeBackboneEpochs <= o.epochs,
                "freeze_backbone_epochs (" + o.freezeBackboneEpochs + ") must be in [0, epochs (" + o.epochs + ")]");
        int gramSide = o.globalCropSize / Math.max(1, ModelOptions.patchSize(o));
        check(problems, o.gramLossWeight == 0 || gramSide * gramSide >= 2, "gram_loss_weight " + o.gramLossWeight + " needs patch tokens to "
                + "anchor: a global crop of " + o.globalCropSize + " px at patch " + ModelOptions.patchSize(o) + " has " + gramSide * gramSide
                + " (at least 2; a Gram matrix of one normalised token is always 1)");
        check(problems, o.centering != Centering.SINKHORN_KNOPP || worldSize == 1,
                "centering sinkhorn_knopp is not supported data-parallel yet (" + worldSize + " processes); use --centering centering");
        check(problems, batch <= 0 || perEpoch > 0, "the dataset has " + images + " images, fewer than one batch of " + globalBatch
                + (worldSize > 1 ? " (" + batch + " on each of " + worldSize + " processes)" : ""));
        MaskingPolicy masking = null;
        try {
            masking = masking(o);
        } catch (IllegalArgumentException e) {
            problems.add(e.getMessage());
        }
        if (!problems.isEmpty()) throw new IllegalArgumentException("bad pretrain options:\n  " + String.join("\n  ", problems));
        return build(o, masking, batch, globalBatch, perEpoch, worldSize);
    }

    /**
     * Checks every option that can be checked without the data, with the values as the user gave them
     * (the lr before its batch scaling): called before a run creates anything.
     *
     * @param o the options as given
     * @throws IllegalArgumentException listing every problem
     */
    public static void requireValid(PretrainOptions o) {
        List<String> problems = valueProblems(o);
        ModelOptions.problems(o, false, problems);
        try {
            masking(o);
        } catch (IllegalArgumentException e) {
            problems.add(e.getMessage());
        }
        if (!problems.isEmpty()) throw new IllegalArgumentException("bad pretrain options:\n  " + String.join("\n  ", problems));
    }

    private static List<String> valueProblems(PretrainOptions o) {
        List<String> problems = new ArrayList<>();
        check(problems, o.batchSizePerGpu > 0, "batch_size_per_gpu must be > 0, got " + o.batchSizePerGpu);
        finite(problems, "lr", o.lr, 0, false);
        finite(problems, "min_lr", o.minLr, 0, false);
        finite(problems, "weight_decay", o.weightDecay, 0, false);
        finite(problems, "weight_decay_end", o.weightDecayEnd, 0, false);
        finite(problems, "clip_grad", o.clipGrad, 0, false);
        finite(problems, "teacher_temp", o.teacherTemp, 0, true);
        finite(problems, "warmup_teacher_temp", o.warmupTeacherTemp, 0, true);
        finite(problems, "teacher_patch_temp", o.teacherPatchTemp, 0, true);
        finite(problems, "warmup_teacher_patch_temp", o.warmupTeacherPatchTemp, 0, true);
        check(problems, o.momentumTeacher >= 0 && o.momentumTeacher <= 1,
                "momentum_teacher must be in [0, 1] (the teacher's EMA weight), got " + o.momentumTeacher);
        check(problems, o.threads >= 0, "threads must be >= 0 (0: the physical cores), got " + o.threads);
        try {
            ProcessLimits.checkThreads(o.threads, "threads");
        } catch (IllegalArgumentException tooMany) {
            problems.add(tooMany.getMessage());
        }
        check(problems, o.numWorkers >= 0, "num_workers must be >= 0 (0: half the cores), got " + o.numWorkers);
        // Loader workers decode on the CPUs too; a few per CPU cover slow storage, tens of thousands use up the machine's PIDs.
        int maxWorkers = 4 * ProcessLimits.maxThreads();
        check(problems, o.numWorkers <= maxWorkers, "num_workers " + o.numWorkers + " is more than " + maxWorkers + " (4 per CPU this process may use; "
                + ProcessLimits.MAX_THREADS_ENV + " raises the CPUs counted)");
        check(problems, o.subset >= 0, "subset must be >= 0 (0: all images), got " + o.subset);
        check(problems, o.freezeLastLayer >= 0, "freeze_last_layer must be >= 0 epochs, got " + o.freezeLastLayer);
        check(problems, o.predStartEpoch >= 0, "pred_start_epoch must be >= 0, got " + o.predStartEpoch);
        check(problems, o.patchSize > 0 && o.globalCropSize > 0 && o.localCropSize > 0,
                "patch_size, global_crop_size and local_crop_size must be > 0, got " + o.patchSize + ", " + o.globalCropSize + " and " + o.localCropSize);
        check(problems, o.embedDim >= 0 && o.depth >= 0 && o.numHeads >= 0,
                "embed_dim, depth and num_heads must be >= 0 (0: the arch's), got " + o.embedDim + ", " + o.depth + " and " + o.numHeads);
        check(problems, o.knnEvery >= 0 && o.knnTrain > 0 && o.knnTest > 0,
                "knn_every must be >= 0, knn_train and knn_test > 0, got " + o.knnEvery + ", " + o.knnTrain + " and " + o.knnTest);
        check(problems, o.nprocPerNode >= 1 && o.nnodes >= 1 && o.nodeRank >= 0, "nproc_per_node and nnodes must be >= 1, node_rank >= 0");
        check(problems, o.masterPort > 0 && o.masterPort < 65536, "master_port must be in 1..65535, got " + o.masterPort);
        for (double[] v : new double[][] {o.mean, o.std}) {
            for (double x : v) check(problems, Double.isFinite(x), "mean and std must be finite numbers");
        }
        for (double x : o.std) check(problems, x > 0, "std must be > 0, got " + x);
        check(problems, o.distBackend.isEmpty() || o.distBackend.equals("gloo") || o.distBackend.equals("nccl"),
                "dist_backend must be gloo or nccl, got '" + o.distBackend + "'");
        check(problems, o.distTimeout > 0, "dist_timeout must be > 0 seconds");
        check(problems, o.epochs > 0, "epochs must be > 0");
        check(problems, o.warmupEpochs >= 0, "warmup_epochs must be >= 0, got " + o.warmupEpochs);
        check(problems, o.warmupTeacherTempEpochs >= 0, "warmup_teacher_temp_epochs must be >= 0, got " + o.warmupTeacherTempEpochs);
        check(problems, !o.useFp16,
                "use_fp16: fp16 mixed precision is not supported (the official default; ibot4j trains in fp32, or bf16 autocast with --bf16)");
        check(problems, o.maxSteps >= 0 && o.saveckpIters >= 0 && o.saveckpFreq > 0,
                "max_steps and saveckp_iters must be >= 0, saveckp_freq > 0");
        check(problems, o.keepCheckpoints > 0, "keep_checkpoints must be > 0");
        check(problems, o.maxNonfinite > 0, "max_nonfinite must be > 0");
        check(problems, o.globalCropsNumber == 2, "global_crops_number must be 2 (as in the official code)");
        check(problems, o.optimizer.equals("adamw"), "optimizer: only adamw is implemented, got '" + o.optimizer + "'");
        check(problems, o.mean.length == 1 || o.mean.length == 3, "mean takes 1 or 3 values");
        check(problems, o.std.length == 1 || o.std.length == 3, "std takes 1 or 3 values");
        check(problems, range(o.globalCropsScale) && range(o.localCropsScale),
                "global_crops_scale and local_crops_scale take two values 0 < min <= max <= 1");
        check(problems, o.localCropsNumber >= 0, "local_crops_number must be >= 0");
        check(problems, o.collapseWarnSteps > 0, "collapse_warn_steps must be > 0, got " + o.collapseWarnSteps);
        check(problems, o.initBackbone.isBlank() || o.loadFrom.isBlank(),
                "init_backbone and load_from both name starting weights; give one (init_backbone: a backbone with new heads, "
                        + "load_from: a whole model)");
        check(problems, o.freezeBackboneEpochs >= 0, "freeze_backbone_epochs must be >= 0, got " + o.freezeBackboneEpochs);
        check(problems, o.gramRefreshEpochs >= 0, "gram_refresh_epochs must be >= 0, got " + o.gramRefreshEpochs);
        check(problems, o.gramLossWeight == 0 || o.gramTeacher != PretrainOptions.GramTeacher.ema || o.gramRefreshEpochs > 0,
                "gram_teacher ema needs gram_refresh_epochs > 0 (the epochs between snapshots of the EMA teacher)");
        check(problems, o.distillFrom.isBlank() == o.distillArch.isBlank(),
                "distill_from and distill_arch go together: the teacher's file and its architecture (a timm name, as --arch)");
        check(problems, o.distillArch.isBlank() || Arrays.asList(Arch.names()).contains(o.distillArch),
                "distill_arch '" + o.distillArch + "' is not an arch (" + String.join(", ", Arch.names()) + ")");
        check(problems, o.distillEmbedDim >= 0 && o.distillDepth >= 0 && o.distillNumHeads >= 0 && o.distillPatchSize >= 0,
                "distill_embed_dim, distill_depth, distill_num_heads and distill_patch_size must be >= 0 (0: the arch's)");
        check(problems, o.distillFrom.isBlank() || (o.distillLossWeight > 0 && Double.isFinite(o.distillLossWeight)),
                "distill_loss_weight must be > 0 with --distill_from, got " + o.distillLossWeight);
        check(problems, o.gramTeacher != PretrainOptions.GramTeacher.initial || o.gramRefreshEpochs == 0,
                "gram_refresh_epochs " + o.gramRefreshEpochs + " applies to --gram_teacher ema; the initial Gram teacher is never refreshed");
        return problems;
    }

    private static PretrainSetup build(PretrainOptions o, MaskingPolicy masking, int batch, long globalBatch, long perEpoch, int worldSize) {
        IbotConfig model = ModelOptions.of(o);
        MultiCropAugmentation augmentation = new MultiCropAugmentation(new MultiCropAugmentation.Options(
                o.globalCropsNumber, o.localCropsNumber, o.globalCropSize, o.localCropSize,
                o.globalCropsScale, o.localCropsScale, channels(o.mean), channels(o.std)));
        long total = o.epochs * perEpoch;
        int workers = o.numWorkers > 0 ? o.numWorkers : MultiCropLoader.defaultWorkers();
        return new PretrainSetup(o, model, augmentation, masking, schedules(o, (int) globalBatch, perEpoch), batch, perEpoch, total, workers,
                worldSize);
    }

    /** The official schedules (batch: the global batch): lr scaled by batch/256 with a linear warm-up then cosine, wd and momentum cosine, temperatures per epoch. */
    public static Schedules schedules(PretrainOptions o, int batch, long perEpoch) {
        long total = o.epochs * perEpoch;
        double peakLr = o.lr * batch / 256.0;
        int predStart = o.useMaskedImModeling ? o.predStartEpoch : 0;
        return new Schedules(
                new CosineSchedule(peakLr, o.minLr, total, o.warmupEpochs * perEpoch, 0),
                new CosineSchedule(o.weightDecay, o.weightDecayEnd, total, 0, 0),
                new CosineSchedule(o.momentumTeacher, 1.0, total, 0, 0),
                new TeacherTemperature(o.warmupTeacherTemp, o.teacherTemp, o.warmupTeacherTempEpochs, 0),
                new TeacherTemperature(o.warmupTeacherPatchTemp, o.teacherPatchTemp, o.warmupTeacherTempEpochs, predStart),
                o.freezeLastLayer, perEpoch, o.clipGrad, o.freezeBackboneEpochs,
                o.gramLossWeight == 0 ? -1 : o.gramTeacher == PretrainOptions.GramTeacher.ema ? o.gramRefreshEpochs * perEpoch : 0);
    }

    static MaskingPolicy masking(PretrainOptions o) {
        if (!o.useMaskedImModeling) {
            return new MaskingPolicy(BlockMaskGenerator.official(), new MaskRatio(new double[] {0}, new double[] {0}), 0);
        }
        double[] ratio = o.predRatio, var = o.predRatioVar;
        if (var.length == 1 && ratio.length > 1) {  // as the official loader: one variance applies to every ratio
            double v = var[0];
            var = new double[ratio.length];
            Arrays.fill(var, v);
        }
        BlockMaskGenerator.Shape shape = o.predShape == PretrainOptions.PredShape.rand ? BlockMaskGenerator.Shape.RAND : BlockMaskGenerator.Shape.BLOCK;
        return new MaskingPolicy(new BlockMaskGenerator(shape, 0.3, 1 / 0.3), new MaskRatio(ratio, var), o.predStartEpoch);
    }

    /**
     * The image size of the run's own evaluations (k-NN monitor, probe figures): its global crops, which is also the
     * model's image size unless an {@code --init_backbone} file brought learned positions for another grid.
     */
    public int evalSize() {
        return augmentation.options().globalSize();
    }

    /**
     * This setup with the model's learned positions for {@code imgSize} px, as a file's (DINOv2's own files: 518): the
     * model interpolates them for the crops, as DINOv2 trains at 224 with positions for 518.
     *
     * @param imgSize the size the file's position embedding is for
     * @return a new setup
     */
    public PretrainSetup withPositionsFor(int imgSize) {
        return withModel(model.toBuilder().imgSize(imgSize).build());
    }

    /** This setup with the distillation teacher's learned positions for {@code imgSize} px, as {@link #withPositionsFor}. */
    public PretrainSetup withTeacherPositionsFor(int imgSize) {
        return withModel(model.toBuilder().distillImgSize(imgSize).build());
    }

    private PretrainSetup withModel(IbotConfig changed) {
        return new PretrainSetup(options, changed, augmentation, masking, schedules, batchSize, itersPerEpoch, totalIters, workers, worldSize);
    }

    /** Iterations this run trains in total: the schedule, or fewer with max_steps. */
    public long lastIteration() {
        int max = options.maxSteps;
        return max > 0 ? Math.min(max, totalIters) : totalIters;
    }

    private static boolean range(double[] r) {
        return r.length == 2 && r[0] > 0 && r[0] <= r[1] && r[1] <= 1;
    }

    /** One value per channel; a single value applies to all three. */
    static float[] channels(double[] v) {
        return EvalTransform.channels(v);
    }

    /** A finite number at least {@code min} (above it when {@code strict}); the message shows the value as given. */
    private static void finite(List<String> problems, String name, double value, double min, boolean strict) {
        boolean ok = Double.isFinite(value) && (strict ? value > min : value >= min);
        check(problems, ok, name + " must be a finite number " + (strict ? "> " : ">= ") + (min == 0 ? "0" : String.valueOf(min)) + ", got " + value);
    }

    private static void check(List<String> problems, boolean ok, String message) {
        if (!ok) problems.add(message);
    }
}
