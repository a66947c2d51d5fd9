package org.ibot4j.trainer;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/** Entry point of {@code ./ibot4j}: {@code demo}, {@code doctor}, {@code help}. */
public final class Cli {
    private Cli() {}

    public static void main(String[] args) throws Exception {
        System.exit(run(args, System.out));
    }

    static int run(String[] args, PrintStream out) throws Exception {
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
                        Integer.parseInt(flags.getOrDefault("threads", String.valueOf(Runtime.getRuntime().availableProcessors())))), out);
                yield 0;
            }
            case "doctor" -> Doctor.run(out);
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
                                  [--knn-train N] [--knn-test N]
                      Pretrains a small ViT with iBOT on Fashion-MNIST (IDX files in --data, default Debian's
                      /usr/share/datasets/fashion-mnist), then prints k-NN top-1 (k=20, T=0.07) of the teacher at
                      initialisation, after training, and on raw pixels. Report: --output (default runs/demo).""");
            case "doctor" -> out.println("""
                    ./ibot4j doctor
                      Shows the JDK, where libibot4j is looked for, which LibTorch it loads and its version check,
                      threads and CUDA; exits 1 with the reason and the fix when something is missing.""");
            default -> out.println("""
                    usage: ./ibot4j <command> [--help]
                      demo     short iBOT pretraining on Fashion-MNIST with a k-NN report
                      doctor   check JDK, native library and LibTorch
                      bench-step  time train_step alone on prepared demo batches [--steps N] [--batch-size N]""");
        }
        return 0;
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
