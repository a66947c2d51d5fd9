package org.ibot4j.api;

/**
 * Architecture, loss and optimiser constants of an iBOT model; names follow the official code
 * ({@code embed_dim}, {@code out_dim}, {@code shared_head}, ...). Per-step values (lr, weight decay,
 * teacher momentum and temperatures) are not here: they come with each step, see {@link StepParams}.
 * Build one with {@link #builder()}; {@link Builder#build()} reports every problem at once.
 */
public record IbotConfig(
        int imgSize,
        int patchSize,
        int inChans,
        int embedDim,
        int depth,
        int numHeads,
        double mlpRatio,
        boolean qkvBias,
        double dropPathRate,
        int outDim,
        int patchOutDim,
        int hiddenDim,
        int bottleneckDim,
        boolean sharedHead,
        boolean sharedHeadTeacher,
        boolean normLastLayer,
        double studentTemp,
        double centerMomentum,
        double centerMomentum2,
        double lambda1,
        double lambda2,
        double beta1,
        double beta2,
        double eps,
        long seed,
        int numThreads,
        Device device,
        boolean bf16Autocast) {

    public IbotConfig {
        validate(imgSize, patchSize, inChans, embedDim, depth, numHeads, mlpRatio, dropPathRate, outDim, patchOutDim,
                hiddenDim, bottleneckDim, sharedHead, sharedHeadTeacher, studentTemp, centerMomentum, centerMomentum2,
                lambda1, lambda2, beta1, beta2, eps, numThreads, device, bf16Autocast);
    }

    /** Number of patch tokens of a square crop of {@code size} pixels. */
    public int numPatches(int size) {
        int side = size / patchSize;
        return side * side;
    }

    /** Output dimension of the patch logits (out_dim when either side shares its head, as in the official loss). */
    public int effectivePatchOutDim() {
        return sharedHead || sharedHeadTeacher ? outDim : patchOutDim;
    }

    public static Builder builder() {
        return new Builder();
    }

    public Builder toBuilder() {
        return new Builder(this);
    }

    @SuppressWarnings("checkstyle:ParameterNumber")
    private static void validate(int imgSize, int patchSize, int inChans, int embedDim, int depth, int numHeads,
            double mlpRatio, double dropPathRate, int outDim, int patchOutDim, int hiddenDim, int bottleneckDim,
            boolean sharedHead, boolean sharedHeadTeacher, double studentTemp, double centerMomentum,
            double centerMomentum2, double lambda1, double lambda2, double beta1, double beta2, double eps,
            int numThreads, Device device, boolean bf16Autocast) {
        Problems p = new Problems();
        p.positive("img_size", imgSize).positive("patch_size", patchSize);
        p.require(patchSize <= 0 || imgSize % patchSize == 0,
                "img_size (" + imgSize + ") must be a multiple of patch_size (" + patchSize + ")");
        p.positive("in_chans", inChans).positive("embed_dim", embedDim).positive("depth", depth).positive("num_heads", numHeads);
        p.require(numHeads <= 0 || embedDim % numHeads == 0,
                "embed_dim (" + embedDim + ") must be a multiple of num_heads (" + numHeads + ")");
        p.positive("mlp_ratio", mlpRatio);
        p.require(dropPathRate >= 0 && dropPathRate < 1, "drop_path_rate must be in [0, 1), got " + dropPathRate);
        p.positive("out_dim", outDim).positive("patch_out_dim", patchOutDim);
        p.positive("hidden_dim", hiddenDim).positive("bottleneck_dim", bottleneckDim);
        p.require(!(sharedHead && !sharedHeadTeacher),
                "shared_head=true needs shared_head_teacher=true (otherwise the teacher's patch projection never follows the student)");
        p.require(!(sharedHeadTeacher && !sharedHead && patchOutDim != outDim),
                "with shared_head_teacher=true the teacher's patch logits have out_dim entries: patch_out_dim ("
                        + patchOutDim + ") must equal out_dim (" + outDim + ")");
        p.positive("student_temp", studentTemp);
        p.inRange("center_momentum", centerMomentum, 0, 1).inRange("center_momentum2", centerMomentum2, 0, 1);
        p.require(lambda1 >= 0 && lambda2 >= 0, "lambda1 and lambda2 must be >= 0");
        p.require(beta1 >= 0 && beta1 < 1, "beta1 must be in [0, 1), got " + beta1);
        p.require(beta2 >= 0 && beta2 < 1, "beta2 must be in [0, 1), got " + beta2);
        p.positive("eps", eps);
        p.require(numThreads >= 0, "num_threads must be >= 0 (0 keeps LibTorch's default), got " + numThreads);
        p.require(device != null, "device must be set");
        p.require(!bf16Autocast || device == Device.CUDA, "bf16_autocast needs device CUDA");
        p.throwIfAny("ibot4j config");
    }

    /** Defaults are the official code defaults for ViT-S/16 at 224 px (see docs for the published run's values). */
    public static final class Builder {
        private int imgSize = 224, patchSize = 16, inChans = 3, embedDim = 384, depth = 12, numHeads = 6;
        private double mlpRatio = 4.0;
        private boolean qkvBias = true;
        private double dropPathRate = 0.1;
        private int outDim = 8192, patchOutDim = 8192, hiddenDim = 2048, bottleneckDim = 256;
        private boolean sharedHead = false, sharedHeadTeacher = true, normLastLayer = true;
        private double studentTemp = 0.1, centerMomentum = 0.9, centerMomentum2 = 0.9, lambda1 = 1.0, lambda2 = 1.0;
        private double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
        private long seed = 0;
        private int numThreads = 0;
        private Device device = Device.CPU;
        private boolean bf16Autocast = false;

        private Builder() {}

        private Builder(IbotConfig c) {
            imgSize = c.imgSize; patchSize = c.patchSize; inChans = c.inChans; embedDim = c.embedDim; depth = c.depth;
            numHeads = c.numHeads; mlpRatio = c.mlpRatio; qkvBias = c.qkvBias; dropPathRate = c.dropPathRate;
            outDim = c.outDim; patchOutDim = c.patchOutDim; hiddenDim = c.hiddenDim; bottleneckDim = c.bottleneckDim;
            sharedHead = c.sharedHead; sharedHeadTeacher = c.sharedHeadTeacher; normLastLayer = c.normLastLayer;
            studentTemp = c.studentTemp; centerMomentum = c.centerMomentum; centerMomentum2 = c.centerMomentum2;
            lambda1 = c.lambda1; lambda2 = c.lambda2; beta1 = c.beta1; beta2 = c.beta2; eps = c.eps; seed = c.seed;
            numThreads = c.numThreads; device = c.device; bf16Autocast = c.bf16Autocast;
        }

        /** Sets embed_dim, depth and num_heads of a named ViT: vit_tiny, vit_small, vit_base or vit_large. */
        public Builder arch(String name) {
            switch (name) {
                case "vit_tiny" -> { embedDim = 192; depth = 12; numHeads = 3; }
                case "vit_small" -> { embedDim = 384; depth = 12; numHeads = 6; }
                case "vit_base" -> { embedDim = 768; depth = 12; numHeads = 12; }
                case "vit_large" -> { embedDim = 1024; depth = 24; numHeads = 16; }
                default -> throw new InvalidConfigException("ibot4j config",
                        java.util.List.of("unknown arch '" + name + "' (known: vit_tiny, vit_small, vit_base, vit_large)"));
            }
            return this;
        }

        public Builder imgSize(int v) { imgSize = v; return this; }
        public Builder patchSize(int v) { patchSize = v; return this; }
        public Builder inChans(int v) { inChans = v; return this; }
        public Builder embedDim(int v) { embedDim = v; return this; }
        public Builder depth(int v) { depth = v; return this; }
        public Builder numHeads(int v) { numHeads = v; return this; }
        public Builder mlpRatio(double v) { mlpRatio = v; return this; }
        public Builder qkvBias(boolean v) { qkvBias = v; return this; }
        public Builder dropPathRate(double v) { dropPathRate = v; return this; }
        public Builder outDim(int v) { outDim = v; return this; }
        public Builder patchOutDim(int v) { patchOutDim = v; return this; }
        public Builder hiddenDim(int v) { hiddenDim = v; return this; }
        public Builder bottleneckDim(int v) { bottleneckDim = v; return this; }
        public Builder sharedHead(boolean v) { sharedHead = v; return this; }
        public Builder sharedHeadTeacher(boolean v) { sharedHeadTeacher = v; return this; }
        public Builder normLastLayer(boolean v) { normLastLayer = v; return this; }
        public Builder studentTemp(double v) { studentTemp = v; return this; }
        public Builder centerMomentum(double v) { centerMomentum = v; return this; }
        public Builder centerMomentum2(double v) { centerMomentum2 = v; return this; }
        public Builder lambda1(double v) { lambda1 = v; return this; }
        public Builder lambda2(double v) { lambda2 = v; return this; }
        public Builder betas(double b1, double b2) { beta1 = b1; beta2 = b2; return this; }
        public Builder eps(double v) { eps = v; return this; }
        public Builder seed(long v) { seed = v; return this; }
        public Builder numThreads(int v) { numThreads = v; return this; }
        public Builder device(Device v) { device = v; return this; }
        public Builder bf16Autocast(boolean v) { bf16Autocast = v; return this; }

        public IbotConfig build() {
            return new IbotConfig(imgSize, patchSize, inChans, embedDim, depth, numHeads, mlpRatio, qkvBias,
                    dropPathRate, outDim, patchOutDim, hiddenDim, bottleneckDim, sharedHead, sharedHeadTeacher,
                    normLastLayer, studentTemp, centerMomentum, centerMomentum2, lambda1, lambda2, beta1, beta2, eps,
                    seed, numThreads, device, bf16Autocast);
        }
    }
}
