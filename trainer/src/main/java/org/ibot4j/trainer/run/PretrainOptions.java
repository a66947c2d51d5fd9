package org.ibot4j.trainer.run;

import com.fasterxml.jackson.annotation.JsonAutoDetect;
import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import java.io.IOException;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import org.ibot4j.api.Arch;
import org.ibot4j.api.Centering;
import org.ibot4j.api.Device;
import picocli.CommandLine.Option;

/**
 * The options of {@code ibot4j pretrain}, named as {@code main_ibot.py} names them (the field
 * {@code patchSize} is {@code --patch_size} on the command line, {@code patch_size} in a config file
 * and in the run's options.json), with ibot4j's few additions. Defaults are the published ViT-S/16
 * run (the official README's command), not the bare code defaults (the spec, section 11), except
 * for images of 64 px or less, where {@link PretrainSetup} picks sizes a laptop trains at a useful
 * speed (each option's help names both).
 * {@link #explicit} records which were given, so data-dependent defaults never override a choice
 * and a resumed run can refuse a changed training option. The official boolean options take a value
 * as its {@code bool_flag} does ({@code --norm_last_layer false}, also on/off, 1/0); ibot4j's own
 * {@code --bf16} may stand alone.
 */
@JsonAutoDetect(fieldVisibility = JsonAutoDetect.Visibility.PUBLIC_ONLY, getterVisibility = JsonAutoDetect.Visibility.NONE,
        isGetterVisibility = JsonAutoDetect.Visibility.NONE)
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
public final class PretrainOptions {
    /** The official masking shapes ({@code --pred_shape}). */
    public enum PredShape { block, rand }

    /** DINOv3's Gram teacher: the starting backbone, or a snapshot of the EMA teacher refreshed every few epochs. */
    public enum GramTeacher { initial, ema }

    // Model
    @Option(names = "--arch", description = "backbone size: ${COMPLETION-CANDIDATES}", completionCandidates = ArchNames.class)
    public Arch arch = Arch.VIT_SMALL;
    @Option(names = "--patch_size", description = "patch size in pixels (published: 16; images of 64 px or less: 8)")
    public int patchSize = 16;
    @Option(names = "--embed_dim", description = "override the arch's width (0: the arch's)")
    public int embedDim = 0;
    @Option(names = "--depth", description = "override the arch's number of blocks (0: the arch's)")
    public int depth = 0;
    @Option(names = "--num_heads", description = "override the arch's attention heads (0: the arch's)")
    public int numHeads = 0;
    @Option(names = "--drop_path", description = "stochastic depth rate of the student")
    public double dropPath = 0.1;
    @Option(names = "--out_dim", description = "dimension of the [CLS] head output (published: 8192; images of 64 px or less: 1024)")
    public int outDim = 8192;
    @Option(names = "--patch_out_dim", description = "dimension of the patch head output (published: 8192; images of 64 px or less: 1024)")
    public int patchOutDim = 8192;
    @Option(names = "--head_hidden_dim", description = "hidden width of the head MLP (published: 2048; images of 64 px or less: 1024)")
    public int headHiddenDim = 2048;
    @Option(names = "--head_bottleneck_dim", description = "bottleneck width of the head")
    public int headBottleneckDim = 256;
    @Option(names = "--shared_head", arity = "1", description = "one head for [CLS] and patch tokens in the student")
    public boolean sharedHead = true;
    @Option(names = "--shared_head_teacher", arity = "1", description = "one head for [CLS] and patch tokens in the teacher")
    public boolean sharedHeadTeacher = true;
    @Option(names = "--norm_last_layer", arity = "1", description = "weight-normalise the head's last layer with g fixed to 1")
    public boolean normLastLayer = false;
    // Masked image modelling
    @Option(names = "--use_masked_im_modeling", arity = "1", description = "mask patches of the student's global crops")
    public boolean useMaskedImModeling = true;
    @Option(names = "--pred_ratio", arity = "1..*", split = ",", description = "masking ratio(s); one is picked per crop")
    public double[] predRatio = {0, 0.3};
    @Option(names = "--pred_ratio_var", arity = "1..*", split = ",", description = "half-width of the uniform draw around each pred_ratio")
    public double[] predRatioVar = {0, 0.2};
    @Option(names = "--pred_shape", description = "mask shape: ${COMPLETION-CANDIDATES}")
    public PredShape predShape = PredShape.block;
    @Option(names = "--pred_start_epoch", description = "first epoch with masking")
    public int predStartEpoch = 0;
    @Option(names = "--lambda1", description = "weight of the [CLS] (self-distillation) loss")
    public double lambda1 = 1.0;
    @Option(names = "--lambda2", description = "weight of the masked-patch loss")
    public double lambda2 = 1.0;
    @Option(names = "--centering", description = "teacher targets: centering (official iBOT: EMA centre and softmax) or sinkhorn_knopp "
            + "(DINOv2: 3 Sinkhorn-Knopp iterations; opt-in, docs/fidelity.md)")
    public Centering centering = Centering.CENTERING;
    @Option(names = "--koleo_loss_weight", description = "weight of DINOv2's KoLeo regulariser on the student's global [CLS] tokens "
            + "(0: off, the official iBOT; DINOv2 uses 0.1)")
    public double koleoLossWeight = 0;
    @Option(names = "--collapse_warn_steps", description = "warn when the teacher's [CLS] targets have been uniform or on one prototype "
            + "for this many steps in a row (docs/collapse.md)")
    public int collapseWarnSteps = 50;
    // Teacher
    @Option(names = "--momentum_teacher", description = "EMA momentum at the start, cosine to 1")
    public double momentumTeacher = 0.996;
    @Option(names = "--warmup_teacher_temp", description = "teacher [CLS] temperature at the start of its warm-up")
    public double warmupTeacherTemp = 0.04;
    @Option(names = "--teacher_temp", description = "teacher [CLS] temperature after the warm-up")
    public double teacherTemp = 0.07;
    @Option(names = "--warmup_teacher_patch_temp", description = "teacher patch temperature at the start of its warm-up")
    public double warmupTeacherPatchTemp = 0.04;
    @Option(names = "--teacher_patch_temp", description = "teacher patch temperature after the warm-up")
    public double teacherPatchTemp = 0.07;
    @Option(names = "--warmup_teacher_temp_epochs", description = "epochs of linear teacher-temperature warm-up")
    public int warmupTeacherTempEpochs = 30;
    // Optimisation
    @Option(names = "--use_fp16", arity = "1", description = "fp16 mixed precision: not supported (CPU and bf16 only); see --bf16")
    public boolean useFp16 = false;
    @Option(names = "--bf16", arity = "0..1", description = "bf16 autocast of the forward passes (fp32 weights, optimiser, "
            + "EMA and loss): on CUDA, or on a CPU with native bf16 (avx512_bf16 or AMX; './ibot4j doctor' says)")
    public boolean bf16 = false;
    @Option(names = "--force_bf16", arity = "0..1", description = "allow --bf16 on a CPU without native bf16 (emulated: slower than fp32)")
    public boolean forceBf16 = false;
    @Option(names = "--weight_decay", description = "weight decay at the start, cosine to weight_decay_end")
    public double weightDecay = 0.04;
    @Option(names = "--weight_decay_end", description = "weight decay at the end")
    public double weightDecayEnd = 0.4;
    @Option(names = "--clip_grad", description = "per-parameter gradient norm clip (0 disables)")
    public double clipGrad = 3.0;
    @Option(names = {"--batch_size_per_gpu", "--batch_size"}, description = "images per step and process (published: 128; images of 64 px or less: 64)")
    public int batchSizePerGpu = 128;
    @Option(names = "--epochs", description = "length of the schedules in epochs")
    public int epochs = 100;
    @Option(names = "--freeze_last_layer", description = "epochs during which the head's last layer is not updated")
    public int freezeLastLayer = 1;
    @Option(names = "--lr", description = "peak learning rate per 256 images (scaled by batch/256)")
    public double lr = 5e-4;
    @Option(names = "--warmup_epochs", description = "epochs of linear learning-rate warm-up")
    public int warmupEpochs = 10;
    @Option(names = "--min_lr", description = "learning rate at the end of the cosine")
    public double minLr = 1e-6;
    @Option(names = "--optimizer", description = "optimiser: adamw (the only one)")
    public String optimizer = "adamw";
    // Multi-crop
    @Option(names = "--global_crops_number", description = "global crops per image (2)")
    public int globalCropsNumber = 2;
    @Option(names = "--global_crops_scale", arity = "1..*", split = ",", description = "area range of global crops (published: 0.25,1; images of 64 px or less: 0.5,1)")
    public double[] globalCropsScale = {0.25, 1.0};
    @Option(names = "--local_crops_number", description = "local crops per image (published: 10; images of 64 px or less: 4)")
    public int localCropsNumber = 10;
    @Option(names = "--local_crops_scale", arity = "1..*", split = ",", description = "area range of local crops (published: 0.05,0.25; images of 64 px or less: 0.15,0.5)")
    public double[] localCropsScale = {0.05, 0.25};
    @Option(names = "--global_crop_size", description = "global crop side in pixels (published: 224; images of 64 px or less: 32)")
    public int globalCropSize = 224;
    @Option(names = "--local_crop_size", description = "local crop side in pixels (published: 96; images of 64 px or less: 16)")
    public int localCropSize = 96;
    @Option(names = "--mean", arity = "1..*", split = ",", description = "normalisation mean per channel (one value: all channels)")
    public double[] mean = {0.485, 0.456, 0.406};
    @Option(names = "--std", arity = "1..*", split = ",", description = "normalisation std per channel (one value: all channels)")
    public double[] std = {0.229, 0.224, 0.225};
    // Run
    @Option(names = {"--data_path", "--data"}, description = "image folder, IDX or CIFAR-10 folder, list file, 'fashion-mnist', or shards "
            + "(WebDataset .tar or Parquet files: 'dir/train-{000000..000099}.tar', one file, or a folder of them)")
    public String dataPath = "";
    @Option(names = "--shuffle_buffer", description = "sharded data: samples held to shuffle the stream, over all its lanes")
    public int shuffleBuffer = 1000;
    @Option(names = "--image_column", description = "Parquet shards: the column of image bytes (empty: image, or image.bytes)")
    public String imageColumn = "";
    @Option(names = "--label_column", description = "Parquet shards: the column of integer classes (empty: label when present)")
    public String labelColumn = "";
    @Option(names = "--subset", description = "train on the first N images only (0: all)")
    public int subset = 0;
    @Option(names = {"--output_dir", "--output"}, description = "folder for checkpoints, metrics and the loss curve")
    public String outputDir = "";
    @Option(names = "--seed", description = "seed of initialisation, crops, masks and drop-path")
    public int seed = 0;
    @Option(names = "--max_steps", description = "stop after this many optimiser steps in total, across resumes (0: the whole schedule)")
    public int maxSteps = 0;
    @Option(names = {"--saveckp_iters", "--save_every"}, description = "checkpoint every N steps (0: once per saveckp_freq epochs)")
    public int saveckpIters = 0;
    @Option(names = "--saveckp_freq", description = "checkpoint every N epochs when saveckp_iters is 0")
    public int saveckpFreq = 1;
    @Option(names = "--keep_checkpoints", description = "number of recent checkpoints kept")
    public int keepCheckpoints = 3;
    @Option(names = "--resume", description = "auto (resume when output_dir holds a checkpoint), true (require one), false, or a checkpoint file")
    public String resume = "auto";
    @Option(names = "--extend_schedule", arity = "0..1", description = "on resume, accept a larger --epochs: the schedules are "
            + "recomputed over the new length and continue at the saved step (as the official code does on restart); recorded in options.json")
    public boolean extendSchedule = false;
    @Option(names = "--change_data", arity = "0..1", description = "on resume, accept other data than the checkpoint's (another --data, "
            + "or the same folder with other images): iterations per epoch and the schedules then follow the new data")
    public boolean changeData = false;
    @Option(names = "--load_from", paramLabel = "FILE", description = "start a new run (step 0, new schedules and optimiser) from the "
            + "weights of an ibot4j checkpoint or run folder, an official iBOT checkpoint or a backbone-only .pth/.safetensors")
    public String loadFrom = "";
    @Option(names = "--init_backbone", paramLabel = "FILE", description = "start student and teacher backbones from a backbone of "
            + "the --arch family (DINOv2 / DINOv3 / iBOT: timm or Hugging Face safetensors, .pth, Meta's hub files, ibot4j checkpoints "
            + "and exports), with new heads; a new run (docs/adaptation.md)")
    public String initBackbone = "";
    @Option(names = "--freeze_backbone_epochs", description = "epochs at the start during which only the heads learn (student and "
            + "teacher backbones unchanged bit for bit); 0: off")
    public int freezeBackboneEpochs = 0;
    @Option(names = "--layer_decay", description = "layer-wise lr decay in (0, 1] as in BEiT / DINOv2 fine-tuning: block i learns at "
            + "lr x D^(depth - i), the patch embedding and tokens at lr x D^(depth + 1); 1: off")
    public double layerDecay = 1.0;
    @Option(names = "--backbone_lr_multiplier", description = "the backbone's lr relative to the heads' (>= 0); 1: off")
    public double backboneLrMultiplier = 1.0;
    @Option(names = "--gram_loss_weight", description = "weight of DINOv3's Gram anchoring: the student's patch-token Gram matrices "
            + "held to a Gram teacher's (0: off)")
    public double gramLossWeight = 0;
    @Option(names = "--gram_teacher", description = "the Gram teacher: initial (the backbone the run starts from) or ema (a snapshot "
            + "of the EMA teacher, refreshed every --gram_refresh_epochs)")
    public GramTeacher gramTeacher = GramTeacher.initial;
    @Option(names = "--gram_refresh_epochs", description = "with --gram_teacher ema: epochs between snapshots of the EMA teacher")
    public int gramRefreshEpochs = 0;
    @Option(names = "--distill_from", paramLabel = "FILE", description = "feature distillation: a frozen teacher backbone of --distill_arch "
            + "(any layout --init_backbone reads) whose normalised tokens the student's, through a learned projection, regress on "
            + "(docs/adaptation.md)")
    public String distillFrom = "";
    @Option(names = "--distill_arch", description = "the --distill_from teacher's architecture (a timm name, as --arch)")
    public String distillArch = "";
    @Option(names = "--distill_embed_dim", description = "the teacher's width when not the arch's (0: the arch's)")
    public int distillEmbedDim = 0;
    @Option(names = "--distill_depth", description = "the teacher's blocks when not the arch's (0: the arch's)")
    public int distillDepth = 0;
    @Option(names = "--distill_num_heads", description = "the teacher's attention heads when not the arch's (0: the arch's)")
    public int distillNumHeads = 0;
    @Option(names = "--distill_patch_size", description = "the teacher's patch size when not the arch's (0: the arch's)")
    public int distillPatchSize = 0;
    @Option(names = "--distill_loss_weight", description = "weight of the distillation loss (with --distill_from)")
    public double distillLossWeight = 1.0;
    @Option(names = {"--num_workers", "--workers"}, description = "loader threads (0: half the cores)")
    public int numWorkers = 0;
    @Option(names = "--threads", description = "LibTorch intra-op threads (0: the physical cores, not hyperthreads: faster for matrix products, see docs/reliability.md)")
    public int threads = 0;
    @Option(names = "--device", description = "cpu or cuda")
    public Device device = Device.CPU;
    @Option(names = "--max_nonfinite", description = "stop after this many non-finite losses in a row")
    public int maxNonfinite = 3;
    @Option(names = "--knn_every", description = "k-NN monitor every N epochs (0: off; needs labelled data with a test split)")
    public int knnEvery = 0;
    @Option(names = "--tensorboard", arity = "0..1", description = "also write the scalars, k-NN and probe figures as TensorBoard "
            + "event files in <output>/tensorboard (docs/interop.md)")
    public boolean tensorboard = false;
    @Option(names = "--knn_train", description = "k-NN memory images for the monitor")
    public int knnTrain = 10000;
    @Option(names = "--knn_test", description = "k-NN query images for the monitor")
    public int knnTest = 2000;
    // Distributed (torchrun's names; RANK, WORLD_SIZE, ... in the environment take precedence)
    @Option(names = "--nproc_per_node", description = "start this many local worker processes (data-parallel ranks) and wait for them")
    public int nprocPerNode = 1;
    @Option(names = "--nnodes", description = "machines taking part, each running the same command with its own --node_rank")
    public int nnodes = 1;
    @Option(names = "--node_rank", description = "this machine's index, 0 to nnodes - 1 (node 0 hosts the rendezvous)")
    public int nodeRank = 0;
    @Option(names = "--master_addr", description = "host of node 0's rendezvous store")
    public String masterAddr = "127.0.0.1";
    @Option(names = "--master_port", description = "port of the rendezvous store")
    public int masterPort = 29500;
    @Option(names = "--dist_backend", description = "gloo or nccl (empty: nccl on cuda, gloo on cpu)")
    public String distBackend = "";
    @Option(names = "--dist_timeout", description = "seconds from a rank going silent to the run stopping with a sentence (collectives wait this less a reserve of up to 5 s)")
    public int distTimeout = 1800;

    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * These options with some values replaced, by snake_case name (a preset or recipe, not a user's choice).
     *
     * @param values e.g. {@code {"arch": "vit_tiny", "mean": [0.286]}}
     * @return this
     * @throws IllegalArgumentException naming an unknown option or a value of the wrong type
     */
    public PretrainOptions with(Map<String, ?> values) {
        try {
            JSON.readerForUpdating(this).with(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
                    .readValue((JsonNode) JSON.valueToTree(values));
            return this;
        } catch (IOException e) {
            throw new IllegalArgumentException("bad pretrain options " + values.keySet() + ": " + e.getMessage());
        }
    }

    /**
     * An independent copy: the same values and the same record of which were given.
     *
     * @return a new options object
     */
    public PretrainOptions copy() {
        return JSON.convertValue(JSON.valueToTree(this), PretrainOptions.class).markExplicit(explicit);
    }

    /**
     * These options with values the user chose (as flags or a config file would give them), by snake_case name.
     *
     * @param values option name to value
     * @return this
     */
    public PretrainOptions given(Map<String, ?> values) {
        return with(values).markExplicit(values.keySet());
    }

    /**
     * The demo's recipe (the shipped recipe {@code demo}, {@link Recipes}): options over the published
     * defaults, sized for a few minutes on two cores; why each departs from the published run is in the file.
     *
     * @return option name to value
     * @throws java.io.IOException when the resource is missing
     */
    public static Map<String, Object> demoRecipe() throws IOException {
        return Recipes.read("demo");
    }

    /** Options given by the user (config file or flag), by their snake_case names. */
    @JsonIgnore
    private final Set<String> explicit = new LinkedHashSet<>();

    /**
     * Whether the user chose this option.
     *
     * @param name the option's snake_case name, e.g. patch_size
     * @return true when a config file or flag set it
     */
    public boolean isExplicit(String name) {
        return explicit.contains(name);
    }

    /**
     * Records options the user chose.
     *
     * @param names snake_case names
     * @return this
     */
    public PretrainOptions markExplicit(Set<String> names) {
        explicit.addAll(names);
        return this;
    }

    /** Names the user chose, snake_case. */
    @JsonIgnore
    public Set<String> explicitNames() {
        return Set.copyOf(explicit);
    }

    /**
     * Options built in Java, typed: one setter per option (the same fields the CLI's flags fill), each
     * marking its option as the caller's choice, as a flag would. {@code PretrainOptionsTest} fails when
     * a field has no setter here or a setter marks another name.
     *
     * @return a builder starting from the defaults
     */
    public static Builder builder() {
        return new Builder();
    }

    /** See {@link #builder()}. The data and output given here are used unless the library call names its own. */
    public static final class Builder {
        private final PretrainOptions o = new PretrainOptions();
        private final Set<String> chosen = new LinkedHashSet<>();

        private Builder() {}

        private Builder given(String name) {
            chosen.add(name);
            return this;
        }

        /** The options; the builder may go on being used (each build is a copy). */
        public PretrainOptions build() {
            PretrainOptions copy = JSON.convertValue(JSON.valueToTree(o), PretrainOptions.class);
            return copy.markExplicit(chosen);
        }

        public Builder arch(Arch v) { o.arch = v; return given("arch"); }
        public Builder patchSize(int v) { o.patchSize = v; return given("patch_size"); }
        public Builder embedDim(int v) { o.embedDim = v; return given("embed_dim"); }
        public Builder depth(int v) { o.depth = v; return given("depth"); }
        public Builder numHeads(int v) { o.numHeads = v; return given("num_heads"); }
        public Builder dropPath(double v) { o.dropPath = v; return given("drop_path"); }
        public Builder outDim(int v) { o.outDim = v; return given("out_dim"); }
        public Builder patchOutDim(int v) { o.patchOutDim = v; return given("patch_out_dim"); }
        public Builder headHiddenDim(int v) { o.headHiddenDim = v; return given("head_hidden_dim"); }
        public Builder headBottleneckDim(int v) { o.headBottleneckDim = v; return given("head_bottleneck_dim"); }
        public Builder sharedHead(boolean v) { o.sharedHead = v; return given("shared_head"); }
        public Builder sharedHeadTeacher(boolean v) { o.sharedHeadTeacher = v; return given("shared_head_teacher"); }
        public Builder normLastLayer(boolean v) { o.normLastLayer = v; return given("norm_last_layer"); }
        public Builder centering(Centering v) { o.centering = v; return given("centering"); }
        public Builder koleoLossWeight(double v) { o.koleoLossWeight = v; return given("koleo_loss_weight"); }
        public Builder collapseWarnSteps(int v) { o.collapseWarnSteps = v; return given("collapse_warn_steps"); }
        public Builder useMaskedImModeling(boolean v) { o.useMaskedImModeling = v; return given("use_masked_im_modeling"); }
        public Builder predRatio(double... v) { o.predRatio = v.clone(); return given("pred_ratio"); }
        public Builder predRatioVar(double... v) { o.predRatioVar = v.clone(); return given("pred_ratio_var"); }
        public Builder predShape(PredShape v) { o.predShape = v; return given("pred_shape"); }
        public Builder predStartEpoch(int v) { o.predStartEpoch = v; return given("pred_start_epoch"); }
        public Builder lambda1(double v) { o.lambda1 = v; return given("lambda1"); }
        public Builder lambda2(double v) { o.lambda2 = v; return given("lambda2"); }
        public Builder momentumTeacher(double v) { o.momentumTeacher = v; return given("momentum_teacher"); }
        public Builder warmupTeacherTemp(double v) { o.warmupTeacherTemp = v; return given("warmup_teacher_temp"); }
        public Builder teacherTemp(double v) { o.teacherTemp = v; return given("teacher_temp"); }
        public Builder warmupTeacherPatchTemp(double v) { o.warmupTeacherPatchTemp = v; return given("warmup_teacher_patch_temp"); }
        public Builder teacherPatchTemp(double v) { o.teacherPatchTemp = v; return given("teacher_patch_temp"); }
        public Builder warmupTeacherTempEpochs(int v) { o.warmupTeacherTempEpochs = v; return given("warmup_teacher_temp_epochs"); }
        public Builder useFp16(boolean v) { o.useFp16 = v; return given("use_fp16"); }
        public Builder bf16(boolean v) { o.bf16 = v; return given("bf16"); }
        public Builder forceBf16(boolean v) { o.forceBf16 = v; return given("force_bf16"); }
        public Builder weightDecay(double v) { o.weightDecay = v; return given("weight_decay"); }
        public Builder weightDecayEnd(double v) { o.weightDecayEnd = v; return given("weight_decay_end"); }
        public Builder clipGrad(double v) { o.clipGrad = v; return given("clip_grad"); }
        public Builder batchSizePerGpu(int v) { o.batchSizePerGpu = v; return given("batch_size_per_gpu"); }
        public Builder epochs(int v) { o.epochs = v; return given("epochs"); }
        public Builder freezeLastLayer(int v) { o.freezeLastLayer = v; return given("freeze_last_layer"); }
        public Builder lr(double v) { o.lr = v; return given("lr"); }
        public Builder warmupEpochs(int v) { o.warmupEpochs = v; return given("warmup_epochs"); }
        public Builder minLr(double v) { o.minLr = v; return given("min_lr"); }
        public Builder optimizer(String v) { o.optimizer = v; return given("optimizer"); }
        public Builder globalCropsNumber(int v) { o.globalCropsNumber = v; return given("global_crops_number"); }
        public Builder globalCropsScale(double... v) { o.globalCropsScale = v.clone(); return given("global_crops_scale"); }
        public Builder localCropsNumber(int v) { o.localCropsNumber = v; return given("local_crops_number"); }
        public Builder localCropsScale(double... v) { o.localCropsScale = v.clone(); return given("local_crops_scale"); }
        public Builder globalCropSize(int v) { o.globalCropSize = v; return given("global_crop_size"); }
        public Builder localCropSize(int v) { o.localCropSize = v; return given("local_crop_size"); }
        public Builder mean(double... v) { o.mean = v.clone(); return given("mean"); }
        public Builder std(double... v) { o.std = v.clone(); return given("std"); }
        public Builder dataPath(String v) { o.dataPath = v; return given("data_path"); }
        public Builder shuffleBuffer(int v) { o.shuffleBuffer = v; return given("shuffle_buffer"); }
        public Builder imageColumn(String v) { o.imageColumn = v; return given("image_column"); }
        public Builder labelColumn(String v) { o.labelColumn = v; return given("label_column"); }
        public Builder subset(int v) { o.subset = v; return given("subset"); }
        public Builder outputDir(String v) { o.outputDir = v; return given("output_dir"); }
        public Builder seed(int v) { o.seed = v; return given("seed"); }
        public Builder maxSteps(int v) { o.maxSteps = v; return given("max_steps"); }
        public Builder saveckpIters(int v) { o.saveckpIters = v; return given("saveckp_iters"); }
        public Builder saveckpFreq(int v) { o.saveckpFreq = v; return given("saveckp_freq"); }
        public Builder keepCheckpoints(int v) { o.keepCheckpoints = v; return given("keep_checkpoints"); }
        public Builder resume(String v) { o.resume = v; return given("resume"); }
        public Builder extendSchedule(boolean v) { o.extendSchedule = v; return given("extend_schedule"); }
        public Builder changeData(boolean v) { o.changeData = v; return given("change_data"); }
        public Builder loadFrom(String v) { o.loadFrom = v; return given("load_from"); }
        public Builder initBackbone(String v) { o.initBackbone = v; return given("init_backbone"); }
        public Builder freezeBackboneEpochs(int v) { o.freezeBackboneEpochs = v; return given("freeze_backbone_epochs"); }
        public Builder layerDecay(double v) { o.layerDecay = v; return given("layer_decay"); }
        public Builder backboneLrMultiplier(double v) { o.backboneLrMultiplier = v; return given("backbone_lr_multiplier"); }
        public Builder gramLossWeight(double v) { o.gramLossWeight = v; return given("gram_loss_weight"); }
        public Builder gramTeacher(GramTeacher v) { o.gramTeacher = v; return given("gram_teacher"); }
        public Builder gramRefreshEpochs(int v) { o.gramRefreshEpochs = v; return given("gram_refresh_epochs"); }
        public Builder distillFrom(String v) { o.distillFrom = v; return given("distill_from"); }
        public Builder distillArch(String v) { o.distillArch = v; return given("distill_arch"); }
        public Builder distillEmbedDim(int v) { o.distillEmbedDim = v; return given("distill_embed_dim"); }
        public Builder distillDepth(int v) { o.distillDepth = v; return given("distill_depth"); }
        public Builder distillNumHeads(int v) { o.distillNumHeads = v; return given("distill_num_heads"); }
        public Builder distillPatchSize(int v) { o.distillPatchSize = v; return given("distill_patch_size"); }
        public Builder distillLossWeight(double v) { o.distillLossWeight = v; return given("distill_loss_weight"); }
        public Builder numWorkers(int v) { o.numWorkers = v; return given("num_workers"); }
        public Builder threads(int v) { o.threads = v; return given("threads"); }
        public Builder device(Device v) { o.device = v; return given("device"); }
        public Builder maxNonfinite(int v) { o.maxNonfinite = v; return given("max_nonfinite"); }
        public Builder knnEvery(int v) { o.knnEvery = v; return given("knn_every"); }
        public Builder tensorboard(boolean v) { o.tensorboard = v; return given("tensorboard"); }
        public Builder knnTrain(int v) { o.knnTrain = v; return given("knn_train"); }
        public Builder knnTest(int v) { o.knnTest = v; return given("knn_test"); }
        public Builder nprocPerNode(int v) { o.nprocPerNode = v; return given("nproc_per_node"); }
        public Builder nnodes(int v) { o.nnodes = v; return given("nnodes"); }
        public Builder nodeRank(int v) { o.nodeRank = v; return given("node_rank"); }
        public Builder masterAddr(String v) { o.masterAddr = v; return given("master_addr"); }
        public Builder masterPort(int v) { o.masterPort = v; return given("master_port"); }
        public Builder distBackend(String v) { o.distBackend = v; return given("dist_backend"); }
        public Builder distTimeout(int v) { o.distTimeout = v; return given("dist_timeout"); }
    }

    /** The completion candidates of {@code --arch}. */
    public static final class ArchNames implements Iterable<String> {
        @Override
        public Iterator<String> iterator() {
            return Arrays.asList(Arch.names()).iterator();
        }
    }
}
