package org.ibot4j.trainer.run;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.ibot4j.trainer.data.IdxDataset;
import org.ibot4j.trainer.data.IdxDatasetTest;
import org.ibot4j.trainer.data.IdxSource;
import org.ibot4j.trainer.data.ImageSource;
import org.ibot4j.trainer.data.RgbImage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Pretraining as a guest in someone's service: it writes where it is told, and survives a clumsy ImageSource. */
class LibraryMannersTest {
    /** A user's source: every 5th item null, every 7th an empty image; the rest Fashion-MNIST. */
    private record Clumsy(ImageSource real) implements ImageSource {
        @Override public int size() { return real.size(); }
        @Override public RgbImage load(int index) throws IOException {
            if (index % 5 == 1) return null;
            if (index % 7 == 2) return new RgbImage(0, 0, new float[][] {new float[0], new float[0], new float[0]});
            return real.load(index);
        }
        @Override public String describe(int index) { return "clumsy #" + index; }
        @Override public int label(int index) { return real.label(index); }
        @Override public int numClasses() { return real.numClasses(); }
    }

    @Test
    void nullAndEmptyItemsAreSkippedNamedAndTheProgressBarGoesToTheConsole(@TempDir Path dir) throws Exception {
        ImageSource images = new Clumsy(new IdxSource(IdxDataset.read(IdxDatasetTest.FASHION, "train")));
        ByteArrayOutputStream console = new ByteArrayOutputStream(), stderr = new ByteArrayOutputStream();
        PrintStream before = System.err;
        Pretrainer.Outcome outcome;
        System.setErr(new PrintStream(stderr, true, StandardCharsets.UTF_8));
        try {
            outcome = Pretraining.of(PretrainingTest.tiny(dir.resolve("run")).dataPath("").maxSteps(4).build()).data(images)
                    .console(new PrintStream(console, true, StandardCharsets.UTF_8)).build().run();
        } finally {
            System.setErr(before);
        }
        // Before: a NullPointerException naming no item ended the run after its lock and checkpoints/ were made.
        assertThat(outcome.iteration()).isEqualTo(4);
        assertThat(Files.list(dir.resolve("run/checkpoints")).count()).isPositive();
        String err = stderr.toString(StandardCharsets.UTF_8);
        assertThat(err).contains("skipping unreadable image clumsy #1: clumsy #1: the image source returned no image (null)");
        assertThat(err).contains("the image source returned an empty image (0 x 0 pixels)");
        // The bar follows console(): standard error is the host's, not the run's.
        assertThat(err.lines()).noneMatch(l -> l.startsWith("pretrain ["));
        assertThat(console.toString(StandardCharsets.UTF_8)).contains("pretrain [");
    }

    @Test
    void aStripFirstInTheFolderIsSkippedAndTheReportKeepsItsFigures(@TempDir Path dir) throws Exception {
        // Before: the probe figures decoded it first and died of OutOfMemoryError at 6.2 GB, ending the run.
        Path images = org.ibot4j.trainer.data.FashionPngs.write(dir.resolve("images"), 24);
        javax.imageio.ImageIO.write(new java.awt.image.BufferedImage(1, 1_000_000, java.awt.image.BufferedImage.TYPE_BYTE_GRAY), "png",
                images.resolve("0000-strip.png").toFile());
        Pretrainer.Outcome outcome = Pretraining.of(PretrainingTest.tiny(dir.resolve("run")).dataPath(images.toString()).subset(0).maxSteps(2)
                .build()).build().run();
        assertThat(outcome.iteration()).isEqualTo(2);
        assertThat(Files.list(dir.resolve("run/probes")).count()).isPositive();
    }

    @Test
    void theTrainerArtifactForcesNoLoggingBindingOnItsUsers() throws IOException {
        // A library user keeps their service's SLF4J binding: the trainer's slf4j-simple is for its own CLI only.
        String pom = Files.readString(Path.of(System.getProperty("user.dir")).resolve("pom.xml"));
        String simple = pom.substring(pom.indexOf("<artifactId>slf4j-simple</artifactId>"));
        simple = simple.substring(0, simple.indexOf("</dependency>"));
        assertThat(simple).contains("<optional>true</optional>");
    }
}
