package org.ibot4j.trainer;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.ibot4j.trainer.pretrain.ConfigFile;
import org.ibot4j.trainer.pretrain.PretrainOptions;
import org.ibot4j.trainer.pretrain.Pretrainer;

/** Entry point of {@code ./ibot4j}: pretrain, demo, eval-knn, embed, doctor, export, import, benchmarks, help. */
public final class Cli {
    private Cli() {}

    public static void main(String[] args) {
        try {
            System.exit(run(args, System.out));
        } catch (IllegalArgumentException | IllegalStateException | java.io.IOException | org.ibot4j.api.Ibot4jException
                | org.ibot4j.api.NativeLibraryException e) {
            // Problems with input, files or the native setup: the message says what and how to fix it.
            System.err.println("ibot4j: " + e.getMessage());
            System.exit(1);
        }
    }

    static int run(String[] args, PrintStream out) throws java.io.IOException {
        String command = args.length == 0 ? "help" : args[0];
        Map<String, String> flags = flags(args);
        if (flags.containsKey("help") || flags.containsKey("h")) return help(command, out);
        int threads = Integer.parseInt(flags.getOrDefault("threads", String.valueOf(Runtime.getRuntime().availableProcessors())));
        return switch (command) {
            case "pretrain" -> {
                Pretrainer.run(pretrainOptions(PretrainOptions.defaults(), flags), out);
                yield 0;
            }
            case "demo" -> Demo.run(pretrainOptions(Demo.recipe(), flags), out);
            case "eval-knn" -> EvalKnn.run(Path.of(required(flags, "checkpoint")), flags.get("data"), flags.get("train"), flags.get("val"),
                    network(flags), Integer.parseInt(flags.getOrDefault("limit-train", "0")),
                    Integer.parseInt(flags.getOrDefault("limit-val", "0")), flags.containsKey("pixels"), threads, out);
            case "embed" -> Embed.run(Path.of(required(flags, "checkpoint")), required(flags, "images"), network(flags),
                    Path.of(required(flags, "out")), threads, out);
            case "doctor" -> Doctor.run(out);
            case "export" -> Interop.export(Path.of(required(flags, "checkpoint")), flags.getOrDefault("which", "teacher"),
                    flags.getOrDefault("format", "pth"), Path.of(required(flags, "out")), out);
            case "import" -> Interop.importWeights(Path.of(required(flags, "from")), Path.of(required(flags, "out")),
                    Integer.parseInt(flags.getOrDefault("num-heads", "0")), Boolean.parseBoolean(flags.getOrDefault("norm-last-layer", "true")),
                    flags.containsKey("allow-unknown"), out);
            case "bench-data" -> {
                org.ibot4j.trainer.bench.DataBench.run(Path.of(flags.getOrDefault("data", "/usr/share/datasets/fashion-mnist")),
                        Path.of(flags.getOrDefault("jpeg-dir", "build/bench-jpegs")), out);
                yield 0;
            }
            case "bench-step" -> {
                org.ibot4j.trainer.bench.StepBench.run(flags.getOrDefault("config", "demo"),
                        Path.of(flags.getOrDefault("data", "/usr/share/datasets/fashion-mnist")),
                        Integer.parseInt(flags.getOrDefault("steps", "30")), Integer.parseInt(flags.getOrDefault("batch-size", "64")), threads,
                        flags.getOrDefault("device", "cpu"), flags.containsKey("bf16"), out);
                yield 0;
            }
            case "help" -> help(args.length > 1 ? args[1] : "help", out);
            default -> {
                out.println("unknown command '" + command + "'");
                help("help", out);
                yield 2;
            }
        };
    }

    /** A config file (--config, YAML or JSON) over {@code base}, then every other flag over both. */
    static PretrainOptions pretrainOptions(PretrainOptions base, Map<String, String> flags) throws java.io.IOException {
        Map<String, String> rest = new java.util.LinkedHashMap<>(flags);
        String config = rest.remove("config");
        if (config != null) base.apply(ConfigFile.read(Path.of(config)), config);
        return base.apply(rest, "the command line");
    }

    private static org.ibot4j.api.Network network(Map<String, String> flags) {
        String which = flags.getOrDefault("which", "teacher");
        return switch (which) {
            case "teacher" -> org.ibot4j.api.Network.TEACHER;
            case "student" -> org.ibot4j.api.Network.STUDENT;
            default -> throw new IllegalArgumentException("--which takes teacher or student, got '" + which + "'");
        };
    }

    private static int help(String command, PrintStream out) {
        switch (command) {
            case "pretrain" -> out.println("""
                    ./ibot4j pretrain --data DATA --output DIR [--config FILE.yaml|.json] [--option value ...]
                      iBOT pretraining. DATA: an image folder (ImageFolder classes or flat; train/ and val/ sub-folders
                      are used as splits), a folder of IDX or CIFAR-10 binary files, a list file of image paths, or
                      'fashion-mnist' (Debian's dataset-fashion-mnist). Options as main_ibot.py names them, with '_' or
                      '-'; a config file sets them too, flags override it. Defaults: the published ViT-S/16 run;
                      for images of 64 px or less, 32/16 px crops and patch 4 unless given.
                      Writes DIR/metrics.jsonl and .csv (every step), DIR/checkpoints/ckpt-N.ibot4j (atomic, the last
                      --keep_checkpoints kept), DIR/loss.png, DIR/options.json. Run again with the same DIR to resume
                      (or --resume FILE); --max_steps counts across resumes.
                    options:
                    """ + PretrainOptions.helpText());
            case "demo" -> out.println("""
                    ./ibot4j demo [--output DIR] [--data DIR] [any pretrain option]
                      Pretrains a small ViT with iBOT on Fashion-MNIST (recipe: Demo.recipe(), printed in
                      DIR/options.json), then prints k-NN top-1 (k=20, T=0.07, --knn_train / --knn_test images) of the
                      teacher at initialisation, after training, and on raw pixels. Report: --output (default runs/demo);
                      running it again on a finished folder re-evaluates without training.""");
            case "eval-knn" -> out.println("""
                    ./ibot4j eval-knn --checkpoint FILE (--data DATA | --train DATA --val DATA) [--which teacher|student]
                                      [--limit-train N] [--limit-val N] [--pixels] [--threads N]
                      Weighted k-NN (k=20, T=0.07) on L2-normalised CLS features of the checkpoint's teacher (default):
                      memory = the train split, queries = the test split (IDX t10k, CIFAR test_batch, or val/), or two
                      labelled folders. Prints top-1 and top-5; --pixels adds the raw-pixel baseline.""");
            case "embed" -> out.println("""
                    ./ibot4j embed --checkpoint FILE --images DIR --out FILE.safetensors|FILE.npy [--which teacher|student]
                      CLS features of every readable image of DIR (resized, centre-cropped, normalised as in training).
                      .safetensors: tensor 'features' [N, D], file names as a JSON list in the metadata key 'files'.
                      .npy: float32 [N, D], file names one per line in FILE.npy.files.txt. Unreadable images are skipped.""");
            case "export" -> out.println("""
                    ./ibot4j export --checkpoint FILE [--which teacher|student] [--format pth|safetensors] --out FILE
                      Writes one backbone as a state_dict with timm's ViT key names. The .pth loads with
                      torch.load(path, weights_only=True); either format loads into timm's VisionTransformer
                      with strict=True (the student's mask token is not part of it).""");
            case "import" -> out.println("""
                    ./ibot4j import --from FILE --out FILE [--num-heads N] [--norm-last-layer true|false] [--allow-unknown]
                      Converts an official iBOT checkpoint (main_ibot.py: student/teacher, module./backbone. prefixes,
                      heads, centres) or a backbone-only .pth/.safetensors into an ibot4j checkpoint. The architecture
                      is read from the weights; heads cannot be: --num-heads (default embed_dim / 64). Missing and
                      unknown tensors are listed by name; unknown ones stop the import unless --allow-unknown.""");
            case "doctor" -> out.println("""
                    ./ibot4j doctor
                      Shows the JDK, where libibot4j is looked for, which LibTorch it loads and its version check,
                      threads and CUDA; exits 1 with the reason and the fix when something is missing.""");
            default -> out.println("""
                    usage: ./ibot4j <command> [--help]
                      demo     short iBOT pretraining on Fashion-MNIST with a k-NN report
                      pretrain iBOT pretraining from a config file and/or flags, with resume
                      eval-knn k-NN top-1/top-5 of a checkpoint on a labelled dataset
                      embed    CLS features of a folder of images to .safetensors or .npy
                      doctor   check JDK, native library and LibTorch
                      export   a backbone as .pth / .safetensors with timm key names
                      import   an official iBOT checkpoint or backbone file into an ibot4j checkpoint
                      bench-data  loader throughput (ci/bench-data)
                      bench-step  train_step alone and end to end, FLOPs, peak RSS [--config tiny|demo|vit_s16] [--steps N] [--batch-size N]
                                  [--device cpu|cuda] [--bf16]""");
        }
        return 0;
    }

    private static String required(Map<String, String> flags, String name) {
        String v = flags.get(name);
        if (v == null || v.equals("true")) throw new IllegalArgumentException("--" + name + " is required (see --help)");
        return v;
    }

    /** {@code --name value [value ...]} and {@code --name=value}; underscores and dashes are the same. */
    static Map<String, String> flags(String[] args) {
        Map<String, String> flags = new HashMap<>();
        for (int i = 1; i < args.length; i++) {
            String a = args[i];
            if (!a.startsWith("-")) throw new IllegalArgumentException("unexpected argument '" + a + "'");
            String name = a.replaceFirst("^--?", "");
            String value;
            int eq = name.indexOf('=');
            if (eq >= 0) {
                value = name.substring(eq + 1);
                name = name.substring(0, eq);
            } else if (i + 1 < args.length && !args[i + 1].startsWith("--")) {
                // Official list options take several values: --pred_ratio 0 0.3
                StringBuilder values = new StringBuilder(args[++i]);
                while (i + 1 < args.length && !args[i + 1].startsWith("--")) values.append(' ').append(args[++i]);
                value = values.toString();
            } else {
                value = "true";
            }
            if (flags.put(name.replace('_', '-'), value) != null) throw new IllegalArgumentException("--" + name + " is given twice");
        }
        return flags;
    }
}
