package org.ibot4j.trainer;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/** Entry point of {@code ./ibot4j}: demo, doctor, export, import, bench-step, help. */
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
        return switch (command) {
            case "demo" -> {
                Demo.run(new Demo.Settings(
                        Path.of(flags.getOrDefault("data", "/usr/share/datasets/fashion-mnist")),
                        Path.of(flags.getOrDefault("output", "runs/demo")),
                        Integer.parseInt(flags.getOrDefault("steps", "400")),
                        Integer.parseInt(flags.getOrDefault("batch-size", "64")),
                        Integer.parseInt(flags.getOrDefault("knn-train", "10000")),
                        Integer.parseInt(flags.getOrDefault("knn-test", "2000")),
                        Long.parseLong(flags.getOrDefault("seed", "0")),
                        Integer.parseInt(flags.getOrDefault("threads", String.valueOf(Runtime.getRuntime().availableProcessors()))),
                        recipe(flags)), out);
                yield 0;
            }
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
                org.ibot4j.trainer.bench.StepBench.run(Path.of(flags.getOrDefault("data", "/usr/share/datasets/fashion-mnist")),
                        Integer.parseInt(flags.getOrDefault("steps", "30")), Integer.parseInt(flags.getOrDefault("batch-size", "64")),
                        Integer.parseInt(flags.getOrDefault("threads", String.valueOf(Runtime.getRuntime().availableProcessors()))), out);
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

    private static int help(String command, PrintStream out) {
        switch (command) {
            case "demo" -> out.println("""
                    ./ibot4j demo [--steps N] [--batch-size N] [--output DIR] [--data DIR] [--seed N] [--threads N]
                                  [--knn-train N] [--knn-test N] [--lr PEAK] [--out_dim K] [--momentum_teacher M]
                                  [--teacher_temp T] [--local_crops_number L] [--embed_dim D] [--depth N] [--num_heads H]
                                  [--global_crops_scale MIN] [--local_crops_scale MIN,MAX]
                      Pretrains a small ViT with iBOT on Fashion-MNIST (IDX files in --data, default Debian's
                      /usr/share/datasets/fashion-mnist), then prints k-NN top-1 (k=20, T=0.07) of the teacher at
                      initialisation, after training, and on raw pixels. Report: --output (default runs/demo).""");
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
                      doctor   check JDK, native library and LibTorch
                      export   a backbone as .pth / .safetensors with timm key names
                      import   an official iBOT checkpoint or backbone file into an ibot4j checkpoint
                      bench-data  loader throughput (ci/bench-data)
                      bench-step  time train_step alone on prepared demo batches [--steps N] [--batch-size N]""");
        }
        return 0;
    }

    private static Demo.Recipe recipe(Map<String, String> flags) {
        Demo.Recipe d = Demo.Recipe.defaults();
        return new Demo.Recipe(
                Integer.parseInt(flags.getOrDefault("embed-dim", String.valueOf(d.embedDim()))),
                Integer.parseInt(flags.getOrDefault("depth", String.valueOf(d.depth()))),
                Integer.parseInt(flags.getOrDefault("num-heads", String.valueOf(d.numHeads()))),
                Integer.parseInt(flags.getOrDefault("out-dim", String.valueOf(d.outDim()))),
                Integer.parseInt(flags.getOrDefault("local-crops-number", String.valueOf(d.localCropsNumber()))),
                Double.parseDouble(flags.getOrDefault("lr", String.valueOf(d.lr()))),
                Double.parseDouble(flags.getOrDefault("momentum-teacher", String.valueOf(d.momentumTeacher()))),
                Double.parseDouble(flags.getOrDefault("teacher-temp", String.valueOf(d.teacherTemp()))),
                Double.parseDouble(flags.getOrDefault("global-crops-scale", String.valueOf(d.globalScaleMin()))),
                Double.parseDouble(flags.getOrDefault("local-crops-scale", d.localScaleMin() + "," + d.localScaleMax()).split(",")[0]),
                Double.parseDouble(flags.getOrDefault("local-crops-scale", d.localScaleMin() + "," + d.localScaleMax()).split(",")[1]));
    }

    private static String required(Map<String, String> flags, String name) {
        String v = flags.get(name);
        if (v == null || v.equals("true")) throw new IllegalArgumentException("--" + name + " is required (see --help)");
        return v;
    }

    /** {@code --name value} and {@code --name=value}; underscores and dashes are the same. */
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
                value = args[++i];
            } else {
                value = "true";
            }
            flags.put(name.replace('_', '-'), value);
        }
        return flags;
    }
}
