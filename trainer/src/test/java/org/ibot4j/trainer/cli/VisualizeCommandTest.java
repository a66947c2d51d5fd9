package org.ibot4j.trainer.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.ibot4j.api.IbotModel;
import org.ibot4j.api.Network;
import org.ibot4j.trainer.data.FashionPngs;
import org.ibot4j.trainer.data.FileImageSource;
import org.ibot4j.trainer.data.IdxDatasetTest;
import org.ibot4j.trainer.data.RgbImage;
import org.ibot4j.trainer.eval.EvalViews;
import org.ibot4j.trainer.eval.viz.AttentionMap;
import org.ibot4j.trainer.eval.viz.AttentionPcaFigures;
import org.ibot4j.trainer.eval.viz.ProbeImages;
import org.ibot4j.trainer.run.running.PretrainerTest;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code visualize} on a run of the demo's architecture (32 px, patch 4, dim 128, depth 4, 4 heads; two
 * steps) and a folder of Fashion-MNIST PNGs: the files, their sizes, maps that differ between heads and
 * images, masks that keep the asked share, another image size, and clear errors for bad input.
 */
class VisualizeCommandTest {
    private static final int HEADS = 4, GAP = 4, TITLE = 18;

    @TempDir
    static Path dir;
    static Path run, images;

    @BeforeAll
    static void demoSizedRunAndImages() throws IOException {
        run = dir.resolve("run");
        PretrainerTest.run(PretrainerTest.tiny(run, Map.of("max_steps", 2, "embed_dim", 128, "depth", 4, "num_heads", HEADS)),
                new PrintStream(new ByteArrayOutputStream()));
        images = FashionPngs.write(dir.resolve("images"), 4);
        Files.write(images.resolve("img1b.png"), new byte[] {(byte) 0x89, 'P', 'N', 'G', 1, 2, 3});  // damaged: skipped
    }

    @Test
    void writesTheFiguresOfAFolder() throws IOException {
        Path out = dir.resolve("figures");
        CliTest.Result r = CliTest.run("visualize", "--checkpoint", run.toString(), "--images", images.toString(), "--output", out.toString(),
                "--threads", "2");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("teacher attention (4 heads").contains("of 4 images at 32 px");
        try (Stream<Path> files = Files.list(out)) {
            assertThat(files.map(p -> p.getFileName().toString()).sorted()).containsExactly("attention-000-img0.png", "attention-001-img1.png",
                    "attention-002-img2.png", "attention-003-img3.png", "attention-grid.png", "pca.png");
        }
        int side = 32 * 4;  // 32 px drawn 4x
        assertSize(out.resolve("attention-000-img0.png"), 1 + HEADS, 2, side, 2);  // titles over both rows
        BufferedImage grid = assertSize(out.resolve("attention-grid.png"), 1 + 2 * HEADS, 4, side);
        assertSize(out.resolve("pca.png"), 3, 4, side);
        // The drawn maps differ between heads of one image and between images for one head.
        assertThat(pixels(panel(grid, 0, 1, side))).isNotEqualTo(pixels(panel(grid, 0, 2, side)));
        assertThat(pixels(panel(grid, 0, 1, side))).isNotEqualTo(pixels(panel(grid, 1, 1, side)));
        assertThat(pixels(panel(grid, 2, 0, side))).isNotEqualTo(pixels(panel(grid, 3, 0, side)));
    }

    @Test
    void mapsDifferAndMasksKeepTheAskedShare() throws IOException {
        Path checkpoint = run.resolve("checkpoints").toFile().listFiles()[0].toPath();
        List<RgbImage> loaded = new ArrayList<>();
        FileImageSource folder = FileImageSource.folder(images);
        for (int i = 0; i < folder.size(); i++) {
            try {
                loaded.add(folder.load(i));
            } catch (IOException damaged) {
                // the broken PNG
            }
        }
        try (IbotModel model = IbotModel.open(checkpoint, 2)) {
            EvalViews eval = EvalViews.of(checkpoint, model.config());
            ProbeImages probes = ProbeImages.centreCrops(loaded, eval.views(), eval.size());
            for (double threshold : new double[] {0.3, 0.6, 0.9}) {
                AttentionPcaFigures figures = AttentionPcaFigures.compute(model, probes, new AttentionPcaFigures.Options(Network.STUDENT, threshold, 0.5));
                List<List<AttentionMap>> maps = figures.attention();
                assertThat(maps).hasSize(4).allSatisfy(heads -> assertThat(heads).hasSize(HEADS));
                for (List<AttentionMap> heads : maps) {
                    for (AttentionMap m : heads) {
                        double largest = 0, total = 0;
                        for (float v : m.attention()) {
                            largest = Math.max(largest, v);
                            total += v;
                        }
                        // At least the share, and less than one more patch beyond it.
                        assertThat(m.keptShare()).isGreaterThanOrEqualTo(threshold - 1e-6).isLessThan(threshold + largest / total + 1e-6);
                        assertThat(m.keptCount()).isBetween(1, 63);
                    }
                    assertThat(heads.get(0).attention()).isNotEqualTo(heads.get(1).attention());
                }
                assertThat(maps.get(0).get(0).attention()).isNotEqualTo(maps.get(1).get(0).attention());
            }
            AttentionPcaFigures figures = AttentionPcaFigures.compute(model, probes, AttentionPcaFigures.Options.defaults());
            byte[] attention = figures.attentionGridPng(), pca = figures.pcaGridPng();
            assertThat(ImageIO.read(new ByteArrayInputStream(attention)).getHeight()).isEqualTo(TITLE + 4 * (128 + GAP) + GAP);
            assertThat(ImageIO.read(new ByteArrayInputStream(pca)).getWidth()).isEqualTo(3 * 128 + 4 * GAP);
            // Some patches are foreground, some not, and only the foreground is coloured.
            long fg = Arrays.stream(figures.pca().foreground()).mapToLong(row -> count(row)).sum();
            assertThat(fg).isBetween(1L, 4L * 64 - 1);
        }
    }

    @Test
    void anotherImageSizeAndADatasetWithTheStudent() throws IOException {
        Path out = dir.resolve("at48");
        CliTest.Result r = CliTest.run("visualize", "--checkpoint", run.toString(), "--data", IdxDatasetTest.FASHION.toString(), "--count", "3",
                "--image-size", "48", "--network", "student", "--threshold", "0.5", "--output", out.toString(), "--threads", "2");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("student attention").contains("masks keep 50 %").contains("of 3 images at 48 px");
        int side = 48 * 3;  // 48 px drawn 3x
        assertSize(out.resolve("attention-000-IDX-image-0.png"), 1 + HEADS, 2, side, 2);
        assertSize(out.resolve("attention-grid.png"), 1 + 2 * HEADS, 3, side);
        assertSize(out.resolve("pca.png"), 3, 3, side);
        // One image file works too.
        CliTest.Result one = CliTest.run("visualize", "--checkpoint", run.toString(), "--images", images.resolve("img2.png").toString(), "--output",
                dir.resolve("one").toString(), "--threads", "2");
        assertThat(one.code()).as(one.err()).isZero();
        assertThat(dir.resolve("one/attention-000-img2.png")).exists();
    }

    @Test
    void badInputsAreNamed() throws IOException {
        String checkpoint = run.toString();
        assertError(CliTest.run("visualize", "--checkpoint", checkpoint, "--images", images.toString(), "--image_size", "30", "--output",
                dir.resolve("x").toString()), 1, "--image_size 30 must be a multiple of the patch size 8");
        assertError(CliTest.run("visualize", "--checkpoint", checkpoint, "--images", images.toString(), "--threshold", "1.5"), 1,
                "threshold must be in (0, 1]");
        assertError(CliTest.run("visualize", "--checkpoint", checkpoint, "--images", dir.resolve("nowhere").toString()), 1, "does not exist");
        Path file = Files.writeString(dir.resolve("a-file"), "x");
        assertError(CliTest.run("visualize", "--checkpoint", checkpoint, "--images", images.toString(), "--output", file.toString()), 1,
                "is a file, not a folder");
        assertError(CliTest.run("visualize", "--checkpoint", checkpoint), 2, "--images");
        assertError(CliTest.run("visualize", "--checkpoint", checkpoint, "--images", images.toString(), "--data", "fashion-mnist"), 2,
                "mutually exclusive");
        assertError(CliTest.run("visualize", "--checkpoint", images.resolve("img0.png").toString(), "--images", images.toString()), 1,
                "not an ibot4j checkpoint");
    }

    private static void assertError(CliTest.Result r, int code, String message) {
        assertThat(r.code()).as(r.out() + r.err()).isEqualTo(code);
        assertThat(r.err()).contains(message);
    }

    /** A sheet of {@code columns} x {@code rows} panels of {@code side} pixels, with gaps and a title band over the first row. */
    private static BufferedImage assertSize(Path png, int columns, int rows, int side) throws IOException {
        return assertSize(png, columns, rows, side, 1);
    }

    private static BufferedImage assertSize(Path png, int columns, int rows, int side, int titleBands) throws IOException {
        BufferedImage image = ImageIO.read(png.toFile());
        assertThat(image).as("%s is a PNG", png).isNotNull();
        assertThat(new int[] {image.getWidth(), image.getHeight()}).as(png.toString())
                .containsExactly(columns * side + (columns + 1) * GAP, titleBands * TITLE + rows * (side + GAP) + GAP);
        return image;
    }

    private static BufferedImage panel(BufferedImage sheet, int row, int column, int side) {
        return sheet.getSubimage(GAP + column * (side + GAP), TITLE + GAP + row * (side + GAP), side, side);
    }

    private static int[] pixels(BufferedImage image) {
        return image.getRGB(0, 0, image.getWidth(), image.getHeight(), null, 0, image.getWidth());
    }

    private static long count(boolean[] values) {
        long n = 0;
        for (boolean v : values) if (v) n++;
        return n;
    }
}
