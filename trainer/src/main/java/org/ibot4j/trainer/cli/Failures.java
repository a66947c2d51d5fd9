package org.ibot4j.trainer.cli;

import java.io.PrintStream;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.ibot4j.api.ProcessLimits;

/**
 * How the command line ends when something goes wrong: one sentence on standard error, a non-zero exit
 * code, and no process left behind, whatever was thrown and on whichever thread.
 */
final class Failures {
    /** Exit code of a run ended by an Error (out of memory, no thread, a broken installation). */
    static final int FATAL = 70;

    private static final int LONGEST_WORD = 200;
    private static final Pattern LONG_WORD = Pattern.compile("\\S{" + (LONGEST_WORD + 1) + ",}");

    private Failures() {}

    /**
     * A message with every run of more than 200 characters without a space cut to its start and length:
     * a value from a hostile config file or flag may be megabytes long, and echoing it buries the sentence.
     */
    static String shorten(String message) {
        if (message == null) return "";
        Matcher m = LONG_WORD.matcher(message);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            String word = m.group();
            m.appendReplacement(out, Matcher.quoteReplacement(word.substring(0, 60) + "... (" + word.length() + " characters)"));
        }
        m.appendTail(out);
        return out.toString();
    }

    /**
     * A failure's message as the user reads it: shortened ({@link #shorten}), and with what to change when
     * it is a limit of the process ("Too many open files": ulimit -n).
     */
    static String explain(String message) {
        String shortened = shorten(message);
        if (shortened.contains("Too many open files")) {
            String limit = ProcessLimits.openFilesLimit().isPresent() ? " is " + ProcessLimits.openFilesLimit().getAsLong() : "";
            return shortened + " (ulimit -n" + limit + ": raise it, e.g. ulimit -n 4096, or use fewer --workers)";
        }
        return shortened;
    }

    /** The sentence for an Error, which no command catches: what ran out and what to change. */
    static String describe(Throwable error) {
        String message = error.getMessage() == null ? "" : error.getMessage();
        if (error instanceof OutOfMemoryError && message.contains("native thread")) return ProcessLimits.threadStartFailure(error);
        if (error instanceof OutOfMemoryError) {
            return "ran out of Java memory (" + message + "): give the JVM more (JAVA_OPTS=-Xmx8g) or ask for less at once (--batch_size, --workers)";
        }
        if (error instanceof LinkageError) {
            return "the installation is broken (" + error + "): rebuild with ci/build-native and 'mvn install', and run './ibot4j doctor'";
        }
        return "stopped by " + error + " (a defect in ibot4j: please report it with the stack trace above)";
    }

    /** Prints the sentence for {@code error} (with its stack trace when it is a defect) and returns the exit code. */
    static int report(Throwable error, PrintStream err) {
        String sentence = describe(error);
        if (sentence.startsWith("stopped by")) error.printStackTrace(err);
        err.println("ibot4j: " + shorten(sentence));
        err.flush();
        return FATAL;
    }

    /**
     * Ends the process with {@code code}. A thread that will not stop (a loader blocked in I/O, a shutdown
     * hook that hangs) cannot keep it alive: after 10 s it is halted.
     */
    static void exit(int code) {
        Thread watchdog = new Thread(() -> {
            try {
                Thread.sleep(10_000);
            } catch (InterruptedException ignored) {
                // exiting anyway
            }
            Runtime.getRuntime().halt(code);
        }, "ibot4j-exit-watchdog");
        watchdog.setDaemon(true);
        try {
            watchdog.start();
        } catch (Throwable noThread) {
            Runtime.getRuntime().halt(code);
        }
        System.exit(code);
    }

    /**
     * An Error on any thread ends the command line at once (a loader thread that died of OutOfMemoryError
     * would otherwise leave the run waiting for images that never come).
     */
    static void installUncaughtHandler(PrintStream err) {
        Thread.setDefaultUncaughtExceptionHandler((thread, error) -> {
            if (error instanceof Error) {
                err.println("ibot4j: thread " + thread.getName() + ":");
                Runtime.getRuntime().halt(report(error, err));
            }
            err.println("ibot4j: thread " + thread.getName() + " ended by " + shorten(String.valueOf(error)));
        });
    }
}
