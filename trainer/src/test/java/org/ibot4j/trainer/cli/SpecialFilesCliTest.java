package org.ibot4j.trainer.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Map;
import org.ibot4j.trainer.data.SpecialFileFixtures;
import org.ibot4j.trainer.run.running.PretrainerTest;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Special files where a command reads or writes a file: only regular files are read or replaced; the
 * rest is refused with a sentence saying what the path is. Before: {@code export --output} onto a device
 * node replaced the node with a regular file, a FIFO as checkpoint or --config blocked or was called
 * missing.
 */
@Timeout(120)
class SpecialFilesCliTest {
    @TempDir
    static Path dir;
    static Path run;

    @BeforeAll
    static void aFinishedRun() throws Exception {
        run = dir.resolve("run");
        PretrainerTest.run(PretrainerTest.tiny(run, Map.of("max_steps", 2)), PretrainerTest.QUIET);
    }

    @Test
    void exportOntoAFifoOrADeviceNodeIsRefusedAndTheNodeStays() throws Exception {
        Path fifo = dir.resolve("out.pth");
        SpecialFileFixtures.mkfifo(fifo);
        CliTest.Result r = CliTest.run("export", "--checkpoint", run.toString(), "--output", fifo.toString());
        assertThat(r.code()).as(r.out() + r.err()).isNotZero();
        assertThat(r.err()).contains(fifo + " is a FIFO (named pipe)").contains("replaces only regular files");
        assertThat(Files.isRegularFile(fifo, LinkOption.NOFOLLOW_LINKS)).isFalse();

        Path device = dir.resolve("null-device");
        boolean made = new ProcessBuilder("mknod", device.toString(), "c", "1", "3").start().waitFor() == 0;
        assumeTrue(made, "mknod needs root");
        r = CliTest.run("export", "--checkpoint", run.toString(), "--output", device.toString());
        assertThat(r.err()).contains(device + " is a character device");
        assertThat(Files.isRegularFile(device, LinkOption.NOFOLLOW_LINKS)).as("the node was replaced").isFalse();
    }

    @Test
    void aFifoAsCheckpointOrConfigIsNamedNotReadOrCalledMissing() throws Exception {
        Path fifo = dir.resolve("ckpt-fifo.ibot4j");
        SpecialFileFixtures.mkfifo(fifo);
        CliTest.Result r = CliTest.run("export", "--checkpoint", fifo.toString(), "--output", dir.resolve("x.pth").toString());
        assertThat(r.code()).isNotZero();
        assertThat(r.err()).contains("is a FIFO");
        Path config = dir.resolve("config.yaml");
        SpecialFileFixtures.mkfifo(config);
        r = CliTest.run("pretrain", "--config", config.toString(), "--output", dir.resolve("never").toString());
        assertThat(r.code()).isNotZero();
        assertThat(r.err()).contains("config file " + config + " is a FIFO").doesNotContain("does not exist");
        assertThat(dir.resolve("never")).doesNotExist();
    }
}
