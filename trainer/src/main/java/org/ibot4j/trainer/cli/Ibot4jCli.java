package org.ibot4j.trainer.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.ibot4j.api.Arch;
import org.ibot4j.api.Centering;
import org.ibot4j.api.Device;
import org.ibot4j.api.Ibot4jException;
import org.ibot4j.api.InvalidConfigException;
import org.ibot4j.api.NativeLibraryException;
import org.ibot4j.trainer.run.Versions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.UnmatchedArgumentException;
import picocli.CommandLine;

/**
 * {@code ./ibot4j}: one picocli command per sub-command class in this package. Option names follow
 * {@code main_ibot.py} ({@code --patch_size}); {@code --patch-size} is the same option. Unknown flags
 * and bad values stop the command with a message naming them and the closest known option.
 */
@Command(name = "ibot4j", mixinStandardHelpOptions = true, versionProvider = Ibot4jCli.Version.class,
        description = "iBOT self-supervised pretraining of Vision Transformers on LibTorch.",
        subcommands = {DemoCommand.class, PretrainCommand.class, EvalKnnCommand.class, EvalLinearCommand.class, EmbedCommand.class, VisualizeCommand.class, ExportCommand.class,
                ImportCommand.class, ShardCommand.class, DoctorCommand.class, CommandLine.HelpCommand.class})
public final class Ibot4jCli implements Runnable {
    /** Exit code of a command whose input was wrong (a flag, a value, a file): as picocli's usage errors. */
    static final int BAD_INPUT = 2;

    @CommandLine.Spec
    CommandSpec spec;

    public static void main(String[] args) {
        Failures.installUncaughtHandler(System.err);
        int code;
        try {
            code = execute(args, System.out, System.err);
        } catch (Throwable error) {
            // An Error (no memory, no thread, a broken install) is caught by no command: end now, never hang.
            code = Failures.report(error, System.err);
        }
        Failures.exit(code);
    }

    /** Runs one command line; returns the process exit code. */
    public static int execute(String[] args, PrintStream out, PrintStream err) {
        String[] normalised = normalise(args);
        CommandLine cli = commandLine(out, err);
        try {
            rejectUnknownFlags(cli, normalised);
            ConfigDefaults.install(cli, normalised);
        } catch (ParameterException e) {
            return badInput(e, normalised);
        } catch (Exception e) {
            err.println("ibot4j: " + Failures.shorten(e.getMessage()));
            return BAD_INPUT;
        }
        return cli.execute(normalised);
    }

    static CommandLine commandLine(PrintStream out, PrintStream err) {
        CommandLine cli = new CommandLine(new Ibot4jCli(), new Factory(out));
        cli.setOut(new PrintWriter(out, true)).setErr(new PrintWriter(err, true));
        cli.setCaseInsensitiveEnumValuesAllowed(true);
        cli.registerConverter(Boolean.class, Ibot4jCli::bool).registerConverter(boolean.class, Ibot4jCli::bool);
        cli.registerConverter(Device.class, Device::of);
        cli.registerConverter(Centering.class, Centering::of);
        cli.registerConverter(Arch.class, Arch::of);
        cli.registerConverter(Path.class, s -> Path.of(s));
        cli.setParameterExceptionHandler(Ibot4jCli::badInput);
        cli.setExecutionExceptionHandler((e, line, parsed) -> {
            if (e instanceof IllegalArgumentException || e instanceof IllegalStateException || e instanceof IOException
                    || e instanceof Ibot4jException || e instanceof NativeLibraryException || e instanceof InvalidConfigException
                    || e instanceof UncheckedIOException) {
                // Problems with input, files or the native setup: the message says what and how to fix it.
                line.getErr().println("ibot4j: " + Failures.explain(e.getMessage()));
                return 1;
            }
            e.printStackTrace(line.getErr());
            line.getErr().println("ibot4j: stopped by " + Failures.shorten(String.valueOf(e)) + " (a defect in ibot4j: please report it with the stack trace above)");
            return 1;
        });
        return cli;
    }

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /**
     * The official code spells options with underscores, users often with dashes: both name the same
     * option, so flags are rewritten to the underscore form before parsing (values are left alone).
     */
    static String[] normalise(String[] args) {
        String[] out = args.clone();
        for (int i = 0; i < out.length; i++) {
            String a = out[i];
            if (a.equals("--")) break;
            if (!a.startsWith("--") || a.length() < 3) continue;
            int eq = a.indexOf('=');
            String name = eq < 0 ? a : a.substring(0, eq);
            out[i] = "--" + name.substring(2).replace('-', '_') + (eq < 0 ? "" : a.substring(eq));
        }
        return out;
    }

    /**
     * Every flag the sub-command does not know, found before parsing so that it is reported even when
     * required options are missing too (picocli would report those first).
     */
    static void rejectUnknownFlags(CommandLine root, String[] args) {
        CommandLine sub = args.length == 0 ? null : root.getSubcommands().get(args[0]);
        if (sub == null) return;
        List<String> unknown = new ArrayList<>();
        for (int i = 1; i < args.length && !args[i].equals("--"); i++) {
            String name = args[i].replaceFirst("=.*", "");
            if (name.startsWith("--") && !sub.getCommandSpec().optionsMap().containsKey(name)) unknown.add(args[i]);
        }
        if (!unknown.isEmpty()) throw new UnmatchedArgumentException(sub, unknown);
    }

    /** The official bool_flag's spellings. */
    static Boolean bool(String text) {
        return switch (text.toLowerCase(Locale.ROOT)) {
            case "true", "1", "on", "yes" -> true;
            case "false", "0", "off", "no" -> false;
            default -> throw new CommandLine.TypeConversionException("'" + text + "' is not a boolean (true/false, 1/0, on/off, yes/no)");
        };
    }

    /** One line naming the problem, the closest options for an unknown one, and where help is. */
    private static int badInput(ParameterException e, String[] args) {
        CommandLine line = e.getCommandLine();
        PrintWriter err = line.getErr();
        err.println(line.getCommandName() + ": " + Failures.shorten(e.getMessage()));
        if (e instanceof UnmatchedArgumentException unmatched) {
            for (String arg : unmatched.getUnmatched()) {
                if (!arg.startsWith("-")) continue;
                List<String> close = closest(line.getCommandSpec(), arg.replaceFirst("=.*", ""));
                if (!close.isEmpty()) err.println("  did you mean " + String.join(" or ", close) + "?");
            }
        }
        err.println("see '" + line.getCommandSpec().qualifiedName() + " --help'");
        return BAD_INPUT;
    }

    /** Known options within an edit distance of 3 of {@code given}, or containing it, closest first. */
    static List<String> closest(CommandSpec spec, String given) {
        List<String> names = new ArrayList<>();
        for (OptionSpec o : spec.options()) names.addAll(Arrays.asList(o.names()));
        String g = given.replaceFirst("^-+", "");
        return names.stream().filter(n -> n.startsWith("--"))
                .map(n -> new Object() { final String name = n; final int d = editDistance(n.substring(2), g); })
                .filter(c -> c.d <= 3 || (g.length() >= 3 && c.name.contains(g)))
                .sorted((a, b) -> Integer.compare(a.d, b.d)).limit(3).map(c -> c.name).toList();
    }

    static int editDistance(String a, String b) {
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

    /** Gives every command the stream its results go to. */
    private record Factory(PrintStream out) implements CommandLine.IFactory {
        @Override
        public <K> K create(Class<K> cls) throws Exception {
            K made = CommandLine.defaultFactory().create(cls);
            if (made instanceof Ibot4jCommand command) command.out = out;
            return made;
        }
    }

    /** {@code --version}: ibot4j's own version. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"ibot4j " + Versions.ibot4j()};
        }
    }
}
