package org.ibot4j.trainer.run.reporting;

import static org.assertj.core.api.Assertions.assertThat;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import javax.imageio.ImageIO;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.xpath.XPathConstants;
import javax.xml.xpath.XPathFactory;
import org.ibot4j.trainer.run.running.PretrainerTest;
import org.ibot4j.trainer.run.running.Pretraining;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;
import org.w3c.dom.NodeList;

/** report.html of a short run that was stopped and resumed, with the k-NN monitor and a probe figure per checkpoint. */
class RunReportTest {
    /** A stand-in for the attention and PCA renderers: the teacher's position embeddings as a grey image. */
    static final CheckpointFigures POSITION_EMBEDDINGS = (model, step) -> {
        float[] pos = model.readTensor("teacher.backbone.pos_embed");
        long[] shape = model.tensorShape("teacher.backbone.pos_embed");
        int tokens = (int) shape[1], dim = (int) shape[2];
        float lo = Float.MAX_VALUE, hi = -Float.MAX_VALUE;
        for (float v : pos) {
            lo = Math.min(lo, v);
            hi = Math.max(hi, v);
        }
        BufferedImage image = new BufferedImage(dim * 4, tokens * 4, BufferedImage.TYPE_INT_RGB);
        for (int t = 0; t < tokens * 4; t++) {
            for (int d = 0; d < dim * 4; d++) {
                int grey = (int) (255 * (pos[(t / 4) * dim + d / 4] - lo) / Math.max(1e-6f, hi - lo));
                image.setRGB(d, t, grey * 0x010101);
            }
        }
        return List.of(new CheckpointFigures.Figure("position embeddings", image, "teacher pos_embed after " + step + " steps"));
    };

    @Test
    void aResumedRunsReportIsSelfContainedAndCoversTheWholeRun(@TempDir Path dir) throws Exception {
        Map<String, Object> monitor = Map.of("knn_every", 1, "knn_train", 100, "knn_test", 40);
        Map<String, Object> first = new HashMap<>(monitor);
        first.put("max_steps", 2);
        Pretraining.of(PretrainerTest.tiny(dir, first)).console(PretrainerTest.QUIET).figures(POSITION_EMBEDDINGS).build().run();
        assertThat(dir.resolve(RunReport.FILE)).isNotEmptyFile();
        Map<String, Object> rest = new HashMap<>(monitor);
        rest.put("max_steps", 5);
        Pretraining.of(PretrainerTest.tiny(dir, rest)).console(PretrainerTest.QUIET).figures(POSITION_EMBEDDINGS).build().run();

        String html = Files.readString(dir.resolve(RunReport.FILE), StandardCharsets.UTF_8);
        assertThat(html).startsWith("<!DOCTYPE html>");
        assertThat(html.toLowerCase(Locale.ROOT)).doesNotContain("http://").doesNotContain("https://").doesNotContain("<link")
                .doesNotContain("<script");
        assertThat(html).contains("A [CLS] loss near ln(out_dim) = ln(64) = 4.16 means the teacher&#39;s output is nearly uniform")
                .contains("watch the k-NN curve");
        assertThat(html).contains("5 steps logged (iterations 0 to 4)");  // both parts of the run
        assertThat(html).contains("checkpoint at iteration 2").contains("checkpoint at iteration 4").contains("checkpoint at iteration 5");

        // Well-formed enough for an XML parser; every image is an embedded PNG that decodes and is not blank.
        DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
        factory.setFeature("http://apache.org/xml/features/disallow-doctype-decl", false);
        Document doc = factory.newDocumentBuilder().parse(new ByteArrayInputStream(html.getBytes(StandardCharsets.UTF_8)));
        NodeList sources = (NodeList) XPathFactory.newInstance().newXPath().evaluate("//img/@src", doc, XPathConstants.NODESET);
        List<BufferedImage> images = new ArrayList<>();
        for (int i = 0; i < sources.getLength(); i++) {
            String src = sources.item(i).getNodeValue();
            assertThat(src).startsWith("data:image/png;base64,");
            BufferedImage image = ImageIO.read(new ByteArrayInputStream(Base64.getDecoder().decode(src.substring(src.indexOf(',') + 1))));
            assertThat(image).as("image " + i).isNotNull();
            assertThat(inked(image)).as("image " + i + " has something drawn").isGreaterThan(200);
            images.add(image);
        }
        // loss, lr, weight decay, momentum, temperatures, three collapse charts, k-NN, images/s, and one probe figure per
        // checkpoint (2, 4, 5)
        assertThat(images).hasSize(10 + 3);
        assertThat(html).contains("alt=\"k-NN accuracy\"").contains("alt=\"position embeddings\"").contains("<h2>Collapse</h2>")
                .contains("alt=\"teacher target entropy\"").contains("alt=\"prototypes in use\"").contains("alt=\"effective rank\"");
    }

    @Test
    void withoutMetricsOrProbesTheReportSaysSo(@TempDir Path dir) throws IOException {
        RunReport.write(dir, new RunReport.ModelFacts(8192, 0.1));
        String html = Files.readString(dir.resolve(RunReport.FILE));
        assertThat(html).contains("ln(out_dim) = ln(8192) = 9.01").contains("No steps logged yet").contains("No k-NN measurement")
                .contains("No probe figures").doesNotContain("<img");
    }

    @Test
    void collapsedStretchesAreShadedInTheChartsAndNamedWhenLong(@TempDir Path dir) throws IOException {
        double lnK = Math.log(64);
        try (MetricsLog log = new MetricsLog(dir, 0)) {
            for (int i = 0; i < 120; i++) {
                boolean uniform = i >= 40 && i < 100;  // 60 steps uniform, more than the default collapse_warn_steps of 50
                boolean single = i >= 110 && i < 115;   // 5 steps on one prototype: shaded, not named
                double entropy = uniform ? lnK - 0.01 : single ? 0.05 : 2.0;
                int used = single ? 1 : 12;
                log.append(new MetricsRow(i, 0, 4.0, 3.0, 1.0, 1e-4, 0.04, 0.996, 0.04, 0.04, 1.0, 100.0, 0.01, 0.5, true, 0, 0.0, entropy, 2.5,
                        used, used / 16.0, 5.0, 0.0, false, 0.0));
            }
        }
        RunReport.write(dir, new RunReport.ModelFacts(64, 0.1));
        String html = Files.readString(dir.resolve(RunReport.FILE));
        assertThat(html).contains("<h2>Collapse</h2>").contains("collapsed for 50 steps or more: uniform from iteration 40 to 99.")
                .doesNotContain("on one prototype from iteration 110");
        BufferedImage entropy = image(html, "teacher target entropy");
        // The bands are drawn translucent over white: orange for uniform, red for one prototype.
        assertThat(pixelsNear(entropy, 0xffe1c6)).as("orange band pixels").isGreaterThan(60 * 200 / 2);
        assertThat(pixelsNear(entropy, 0xf5cccc)).as("red band pixels").isGreaterThan(0);
    }

    private static BufferedImage image(String html, String alt) throws IOException {
        int at = html.indexOf("alt=\"" + alt + "\" src=\"data:image/png;base64,");
        assertThat(at).as(alt).isNotNegative();
        int start = html.indexOf(',', at) + 1;
        return ImageIO.read(new ByteArrayInputStream(Base64.getDecoder().decode(html.substring(start, html.indexOf('"', start)))));
    }

    /** Pixels within 3 of rgb in every channel. */
    private static int pixelsNear(BufferedImage image, int rgb) {
        int n = 0;
        for (int y = 0; y < image.getHeight(); y++) {
            for (int x = 0; x < image.getWidth(); x++) {
                int p = image.getRGB(x, y);
                boolean near = true;
                for (int shift = 0; shift <= 16; shift += 8) near &= Math.abs(((p >> shift) & 0xff) - ((rgb >> shift) & 0xff)) <= 3;
                if (near) n++;
            }
        }
        return n;
    }

    /** Pixels that are not white. */
    private static int inked(BufferedImage image) {
        int n = 0;
        for (int y = 0; y < image.getHeight(); y++) for (int x = 0; x < image.getWidth(); x++) if ((image.getRGB(x, y) & 0xffffff) != 0xffffff) n++;
        return n;
    }
}
