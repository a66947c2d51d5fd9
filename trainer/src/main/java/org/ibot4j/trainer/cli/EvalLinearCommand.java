package org.ibot4j.trainer.cli;

import java.math.BigDecimal;
import java.math.MathContext;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.ibot4j.api.IbotConfig;
import org.ibot4j.api.IbotModel;
import org.ibot4j.trainer.data.Datasets;
import org.ibot4j.trainer.data.ImageSource;
import org.ibot4j.trainer.eval.EvalViews;
import org.ibot4j.trainer.eval.LinearEvaluation;
import org.ibot4j.trainer.eval.LinearResults;
import org.ibot4j.trainer.eval.ProbeFeatures;
import org.ibot4j.trainer.run.reporting.ProgressBar;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code ibot4j eval-linear}: iBOT's linear probe of a checkpoint's frozen backbone on a labelled dataset. */
@Command(name = "eval-linear", header = "linear-probe top-1/top-5 of a checkpoint on a labelled dataset", mixinStandardHelpOptions = true,
        showDefaultValues = true, sortOptions = false,
        description = {"iBOT's linear probe (eval_linear.py) on a frozen backbone (the teacher unless --which).",
                "Features: the CLS tokens of the last n blocks after the final norm, concatenated",
                "(--avgpool_patchtokens 2 adds the mean of the last block's patch tokens). One linear",
                "layer per --lr (init N(0, 0.01^2), bias 0), trained side by side by SGD (momentum 0.9,",
                "lr x batch/256, cosine to 0), validated every epoch on the test split (IDX t10k, CIFAR",
                "test_batch, or val/). Prints the best top-1 over learning rates and epochs with its top-5",
                "and writes eval_linear.json into the run folder (or --output).",
                "",
                "Modes (every printed number names its mode):",
                "  frozen-features (default, for small machines): the centred views' features are",
                "    computed once and every epoch trains on them; no augmentation.",
                "  full-augmentation (the official protocol): every epoch passes a new RandomResizedCrop",
                "    + flip of every training image through the backbone (about --epochs times the cost).",
                ""})
final class EvalLinearCommand extends Ibot4jCommand {
    /** eval_linear_multi.py's sweep: {1..9} x 10^k for k = -4..0. */
    static final double[] OFFICIAL_SWEEP = officialSweep();

    @Mixin
    CheckpointOptions checkpoint;

    @ArgGroup(exclusive = true, multiplicity = "1")
    EvalKnnCommand.DataChoice data;

    @Option(names = "--limit_train", description = "use the first N training images (0: all)")
    int limitTrain = 0;

    @Option(names = "--limit_val", description = "use the first N validation images (0: all)")
    int limitVal = 0;

    @Option(names = "--mode", paramLabel = "MODE", description = "frozen-features (features computed once, no augmentation) or "
            + "full-augmentation (the official protocol)")
    String mode = LinearEvaluation.Mode.FROZEN_FEATURES.label();

    @Option(names = "--epochs", description = "training epochs (official: 100)")
    int epochs = 100;

    @Option(names = "--batch_size", description = "images per SGD step; learning rates are scaled by batch_size / 256")
    int batchSize = 256;

    @Option(names = "--lr", split = ",", arity = "1..*", paramLabel = "LR", description = "base learning rates for a batch of 256, "
            + "one linear layer each, trained side by side (space- or comma-separated); 'sweep' = eval_linear_multi.py's 45 values "
            + "{1..9} x 10^k, k = -4..0")
    List<String> lr = new ArrayList<>(List.of("0.0001", "0.001", "0.01", "0.1", "1"));

    @Option(names = "--n_last_blocks", description = "concatenate the CLS tokens of the last N blocks (default: 4 for ViT-S and "
            + "narrower, 1 for ViT-B/L widths of 768 and more, as the official runs; at most the depth)")
    Integer nLastBlocks;

    @Option(names = "--avgpool_patchtokens", description = "official values: 0 = CLS tokens only, 1 = mean of the last block's "
            + "patch tokens only (without the final norm, as the official mean-pooling model), 2 = CLS tokens + mean of the last "
            + "block's normed patch tokens (default: 0, or 2 for widths of 768 and more)")
    Integer avgpool;

    @Option(names = "--weight_decay", description = "SGD weight decay (official: 0)")
    double weightDecay = 0;

    @Option(names = "--seed", description = "seeds the initial weights, the shuffling and the crops")
    long seed = 0;

    @Option(names = "--output", paramLabel = "DIR", description = "folder for eval_linear.json (default: the checkpoint's run folder)")
    Path output;

    @Option(names = "--save_features", paramLabel = "FILE", description = "also write the centred-view features and labels of both "
            + "splits as .safetensors, for tools/reference/linear_probe_check.py")
    Path saveFeatures;

    @Override
    public Integer call() throws Exception {
        LinearEvaluation.Mode probeMode;
        double[] lrs;
        LinearEvaluation.Options options;
        try {
            // Bad values are bad input (exit code 2, with the usage hint), like picocli's own conversion errors.
            probeMode = LinearEvaluation.Mode.of(mode);
            lrs = learningRates(lr);
            options = new LinearEvaluation.Options(probeMode, epochs, batchSize, lrs, 0.9, weightDecay, seed);
            if (saveFeatures != null && !saveFeatures.getFileName().toString().endsWith(".safetensors")) {
                throw new IllegalArgumentException("--save_features must end in .safetensors, got " + saveFeatures);
            }
            if (avgpool != null && (avgpool < 0 || avgpool > 2)) {
                throw new IllegalArgumentException("--avgpool_patchtokens must be 0, 1 or 2 (the official values), got " + avgpool);
            }
            if (nLastBlocks != null && nLastBlocks < 1) throw new IllegalArgumentException("--n_last_blocks must be at least 1, got " + nLastBlocks);
            if (limitTrain < 0 || limitVal < 0) throw new IllegalArgumentException("--limit_train and --limit_val must be >= 0");
        } catch (IllegalArgumentException e) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        boolean split = data.split != null;
        ImageSource train = Datasets.head(Datasets.open(split ? data.split.train : data.both, Datasets.Split.TRAIN), limitTrain);
        ImageSource val = Datasets.head(Datasets.open(split ? data.split.val : data.both, split ? Datasets.Split.TRAIN : Datasets.Split.TEST),
                limitVal);
        Path file = checkpoint.file();
        Path folder = output != null ? output : runFolder(file);
        try (IbotModel model = IbotModel.open(file, checkpoint.threads())) {
            IbotConfig config = model.config();
            boolean baseLike = config.embedDim() >= 768;
            int blocks = nLastBlocks != null ? nLastBlocks : baseLike ? 1 : Math.min(4, config.depth());
            int pool = avgpool != null ? avgpool : baseLike ? 2 : 0;
            ProbeFeatures features = new ProbeFeatures(model, checkpoint.which, blocks, pool);
            EvalViews eval = EvalViews.of(file, config);
            Bars bars = new Bars();
            LinearEvaluation probe = new LinearEvaluation(features, eval.views(), eval.size(), options, bars);
            String network = checkpoint.which.name().toLowerCase(Locale.ROOT);
            out.printf(Locale.ROOT, "linear probe (mode: %s) of the %s of %s: %d train / %d val images, features %s = %d values, "
                    + "%d epochs, batch %d, %d learning rate(s)%n", probeMode, network, file.getFileName(), train.size(), val.size(),
                    describe(blocks, pool), features.dim(), epochs, batchSize, lrs.length);
            float[][] valFeatures = probe.centred(val, "val features");
            bars.finish();
            float[][] trainFeatures = probeMode == LinearEvaluation.Mode.FROZEN_FEATURES || saveFeatures != null
                    ? probe.centred(train, "train features") : null;
            bars.finish();
            if (saveFeatures != null) {
                LinearResults.saveFeatures(saveFeatures, trainFeatures, labels(train), valFeatures, labels(val), Map.of("checkpoint",
                        file.toString(), "network", network, "n_last_blocks", Integer.toString(blocks), "avgpool_patchtokens",
                        Integer.toString(pool), "view", "centred (resize, centre crop " + eval.size() + " px)"));
                out.printf(Locale.ROOT, "features written to %s%n", saveFeatures);
            }
            LinearEvaluation.Result result = probe.fit(train, trainFeatures, val, valFeatures);
            bars.finish();
            for (LinearEvaluation.PerLr p : result.perLr()) {
                out.printf(Locale.ROOT, "  lr %-8s (x %s = %s): top-1 %6.2f %% (epoch %d), top-5 %6.2f %%; last epoch %6.2f %%%n",
                        shortNumber(p.lr()), shortNumber(batchSize / 256.0), shortNumber(p.scaledLr()), p.best().top1(), p.bestEpoch(),
                        p.best().top5(), p.last().top1());
            }
            LinearEvaluation.PerLr best = result.best();
            out.printf(Locale.ROOT, "mode: %s  top-1 %.2f %%, top-5 %.2f %% (best lr %s, epoch %d)%n", probeMode, best.best().top1(),
                    best.best().top5(), shortNumber(best.lr()), best.bestEpoch());
            Map<String, Object> context = new LinkedHashMap<>();
            context.put("checkpoint", file.toString());
            context.put("network", network);
            context.put("data", split ? data.split.train + " / " + data.split.val : data.both);
            context.put("n_last_blocks", blocks);
            context.put("avgpool_patchtokens", pool);
            context.put("epochs", epochs);
            context.put("batch_size", batchSize);
            context.put("momentum", 0.9);
            context.put("weight_decay", weightDecay);
            context.put("seed", seed);
            Files.createDirectories(folder.toAbsolutePath());
            Path json = folder.resolve("eval_linear.json");
            LinearResults.writeJson(json, context, result);
            out.printf(Locale.ROOT, "result written to %s%n", json);
        }
        return 0;
    }

    private static String describe(int blocks, int pool) {
        return switch (pool) {
            case 0 -> "CLS of the last " + blocks + " block(s)";
            case 1 -> "mean patch token of the last block";
            default -> "CLS of the last " + blocks + " block(s) + mean patch token";
        };
    }

    /** A run folder's checkpoints live in {@code <run>/checkpoints/}; any other checkpoint's folder is its own. */
    static Path runFolder(Path checkpointFile) {
        Path parent = checkpointFile.getParent();
        if (parent == null) return Path.of("");
        if (parent.getFileName() != null && parent.getFileName().toString().equals("checkpoints")) {
            return parent.getParent() == null ? Path.of("") : parent.getParent();
        }
        return parent;
    }

    static double[] learningRates(List<String> given) {
        List<Double> out = new ArrayList<>();
        for (String s : given) {
            if (s.isBlank()) continue;
            if (s.trim().equalsIgnoreCase("sweep")) {
                for (double v : OFFICIAL_SWEEP) out.add(v);
                continue;
            }
            try {
                out.add(Double.parseDouble(s.trim()));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--lr takes numbers or 'sweep', got '" + s + "'");
            }
        }
        return out.stream().mapToDouble(Double::doubleValue).toArray();
    }

    private static double[] officialSweep() {
        double[] v = new double[45];
        int i = 0;
        for (int k = -4; k <= 0; k++) {
            for (int n = 1; n <= 9; n++) v[i++] = Double.parseDouble(n + "e" + k);
        }
        return v;
    }

    private static String shortNumber(double v) {
        return new BigDecimal(v).round(new MathContext(6)).stripTrailingZeros().toPlainString();
    }

    private static int[] labels(ImageSource source) {
        int[] labels = new int[source.size()];
        for (int i = 0; i < labels.length; i++) labels[i] = source.label(i);
        return labels;
    }

    /** One progress bar per phase, as the other long commands show. */
    private static final class Bars implements LinearEvaluation.Progress {
        private ProgressBar bar;
        private String phase;

        @Override
        public void update(String phase, long done, long total, String status) {
            if (!phase.equals(this.phase)) {
                finish();
                this.phase = phase;
                bar = new ProgressBar(phase, total);
            }
            bar.update(done, status);
        }

        void finish() {
            if (bar != null) bar.finish();
            bar = null;
            phase = null;
        }
    }
}
