package org.ibot4j.trainer.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The sentences the command line ends with when an Error, a limit or a hostile value stops it. */
class FailuresTest {
    @Test
    void errorsBecomeOneSentenceAndTheFatalExitCode() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream err = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        int code = Failures.report(new OutOfMemoryError("unable to create native thread: possibly out of memory"), err);
        assertThat(code).isEqualTo(Failures.FATAL).isNotZero();
        assertThat(bytes.toString(StandardCharsets.UTF_8)).startsWith("ibot4j: could not start a thread").contains("--threads, --workers")
                .doesNotContain("\tat ");
        assertThat(Failures.describe(new OutOfMemoryError("Java heap space"))).contains("JAVA_OPTS=-Xmx8g");
        assertThat(Failures.describe(new UnsatisfiedLinkError("libtorch_cpu.so"))).contains("./ibot4j doctor");
    }

    @Test
    void aMegabyteValueIsNotEchoedWhole() {
        String huge = "x".repeat(3_000_000);
        String message = Failures.shorten("Invalid value for option '--arch': '" + huge + "' is not one of vit_tiny, vit_small");
        assertThat(message).hasSizeLessThan(300).contains("(3000002 characters)").endsWith("is not one of vit_tiny, vit_small");
        assertThat(Failures.explain("/data/x.jpg: Too many open files")).contains("ulimit -n");
    }

    @Test
    void theCommandLineShortensAHostileValue() {
        CliTest.Result r = CliTest.run("embed", "--checkpoint", "c", "--images", "i", "--output", "o.npy", "--which", "y".repeat(3_000_000));
        assertThat(r.code()).isEqualTo(Ibot4jCli.BAD_INPUT);
        assertThat(r.err().length()).isLessThan(2_000);
        assertThat(r.err()).contains("characters)");
    }
}
