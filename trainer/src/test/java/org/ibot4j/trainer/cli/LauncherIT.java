package org.ibot4j.trainer.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.ibot4j.api.io.SafeTensors;
import org.ibot4j.trainer.data.FashionPngs;
import org.ibot4j.trainer.data.IdxDatasetTest;
import org.ibot4j.trainer.run.running.PretrainerTest;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code ./ibot4j} launcher as a user runs it: from a folder of their own, with paths relative to
 * it. These are the redesign issue's three user-visible failures.
 */
class LauncherIT {
    private static final Path LAUNCHER = Path.of(System.getProperty("ibot4j.root", "..")).resolve("ibot4j").toAbsolutePath().normalize();

    @TempDir
    static Path home;

    /** A user's folder: a finished run in runs/demo and a few PNGs in myimgs/. */
    @BeforeAll
    static void aUsersFolder() throws IOException {
        PretrainerTest.run(PretrainerTest.tiny(home.resolve("runs/demo"), Map.of("max_steps", 2)), PretrainerTest.QUIET);
        FashionPngs.write(home.resolve("myimgs"), 3);
    }

    record Run(int code, String output) {}

    static Run launch(Path cwd, String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(LAUNCHER.toString()));
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command).directory(cwd.toFile()).redirectErrorStream(true);
        pb.environment().put("IBOT4J_NO_BUILD", "1");
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(5, TimeUnit.MINUTES)).isTrue();
        return new Run(p.exitValue(), out);
    }

    @Test
    void embedFromAnotherFolderTakesPathsRelativeToIt() throws Exception {
        Run r = launch(home, "embed", "--checkpoint", "runs/demo", "--images", "myimgs", "--output", "f.safetensors", "--threads", "2");
        assertThat(r.code()).as(r.output()).isZero();
        assertThat(r.output()).contains("newest readable checkpoint ckpt-00000002.ibot4j");
        try (SafeTensors st = SafeTensors.open(home.resolve("f.safetensors"))) {
            assertThat(st.entry("features").shape()).containsExactly(3, 32);
        }
    }

    @Test
    void evalKnnTakesTheRunFolderThatPretrainPrints() throws Exception {
        Run r = launch(home, "eval-knn", "--checkpoint", "runs/demo", "--data", IdxDatasetTest.FASHION.toString(), "--limit_train", "100",
                "--limit_val", "20", "--threads", "2");
        assertThat(r.code()).as(r.output()).isZero();
        assertThat(r.output()).contains("teacher of ckpt-00000002.ibot4j: top-1");
    }

    @Test
    void unknownFlagsStopTheCommand() throws Exception {
        Run r = launch(home, "eval-knn", "--checkpoint", "runs/demo", "--data", "fashion-mnist", "--knn_trian", "100", "--bogus", "1");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.output()).contains("--knn_trian").contains("--bogus");
    }
}
