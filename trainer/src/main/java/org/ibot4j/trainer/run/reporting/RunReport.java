package org.ibot4j.trainer.run.reporting;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.ibot4j.api.io.AtomicFiles;
import org.ibot4j.trainer.eval.viz.Png;
import org.ibot4j.trainer.run.checkpoints.ScheduleExtension;

/**
 * {@code report.html}: one self-contained page (inline CSS, charts and figures as PNG data URIs, no
 * external reference) built from the run's files alone: metrics.csv, knn.jsonl, options.json and
 * probes/. A resumed run's report therefore covers the whole run. Rewritten atomically at every
 * checkpoint and at the end.
 */
public final class RunReport {
    public static final String FILE = "report.html";
    private static final ObjectMapper JSON = new ObjectMapper();

    private static final String CSS = """
            body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;max-width:980px;color:#222;padding:0 12px}
            h1{font-size:22px;margin-bottom:4px}h2{font-size:18px;border-bottom:1px solid #ddd;padding-bottom:3px;margin-top:28px}
            h3{font-size:15px;margin:18px 0 6px}.meta{color:#555;font-size:13px}
            .note{background:#f4f7fb;border-left:4px solid #1f77b4;padding:6px 10px;font-size:14px}
            .warn{background:#fff6e5;border-left:4px solid #ff7f0e;padding:6px 10px;font-size:14px}
            img{max-width:100%;height:auto;display:block;margin:8px 0}figure{margin:10px 0;display:inline-block;vertical-align:top}
            figcaption{font-size:13px;color:#444;max-width:480px}table{border-collapse:collapse;font-size:13px}
            td,th{border:1px solid #ddd;padding:3px 8px;text-align:left}pre{font-size:12px;background:#f7f7f7;padding:8px;overflow:auto}
            """;

    /**
     * What the files do not say: the model's [CLS] head width and student temperature (model config values).
     *
     * @param outDim K of the [CLS] projection
     * @param studentTemp the student's softmax temperature (constant)
     */
    public record ModelFacts(int outDim, double studentTemp) {}

    private RunReport() {}

    /** Rebuilds {@code output/report.html} from the run's files. */
    public static Path write(Path output, ModelFacts facts) throws IOException {
        List<Map<String, String>> rows = Files.exists(output.resolve("metrics.csv")) ? MetricsLog.readCsv(output.resolve("metrics.csv")) : List.of();
        JsonNode options = Files.exists(output.resolve("options.json")) ? JSON.readTree(output.resolve("options.json").toFile())
                : JSON.createObjectNode();
        String name = output.toAbsolutePath().normalize().getFileName() == null ? output.toString()
                : output.toAbsolutePath().normalize().getFileName().toString();
        StringBuilder h = new StringBuilder(64 * 1024);
        h.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/>")
                .append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>")
                .append("<title>ibot4j run ").append(escape(name)).append("</title><style>").append(CSS).append("</style></head>\n<body>\n");
        h.append("<h1>iBOT pretraining: ").append(escape(name)).append("</h1>\n");
        h.append("<p class=\"meta\">").append(escape(summary(rows, options))).append("; report written ")
                .append(escape(Instant.now().toString())).append("</p>\n");
        for (JsonNode e : options.path(ScheduleExtension.KEY)) {
            h.append("<p class=\"warn\">Schedule extended at iteration ").append(e.path("iteration").asLong()).append(" from ")
                    .append(e.path("epochs_before").asInt()).append(" to ").append(e.path("epochs_after").asInt())
                    .append(" epochs (--extend_schedule): the curves jump there; this run is not equal to an uninterrupted one.</p>\n");
        }

        Columns c = new Columns(rows);
        double[] it = c.get("iteration");
        h.append("<h2>Loss</h2>\n");
        h.append("<p class=\"note\">").append(escape(String.format(Locale.ROOT, "A [CLS] loss near ln(out_dim) = ln(%d) = %.2f means the "
                + "teacher's output is nearly uniform, so the loss says little about the features then: watch the k-NN curve.",
                facts.outDim(), Math.log(facts.outDim())))).append("</p>\n");
        if (rows.isEmpty()) {
            h.append("<p>No steps logged yet.</p>\n");
        } else {
            chart(h, "loss per step", Chart.render("Loss", "iteration", List.of(
                    Chart.Series.line("total", it, c.loss("loss"), Chart.BLACK),
                    Chart.Series.line("[CLS]", it, c.loss("cls_loss"), Chart.BLUE),
                    Chart.Series.line("patch", it, c.loss("patch_loss"), Chart.RED),
                    Chart.Series.level("ln(out_dim)", it, Math.log(facts.outDim()), Chart.GREY))));
            h.append("<h2>Schedules</h2>\n");
            chart(h, "learning rate", Chart.render("Learning rate", "iteration", List.of(Chart.Series.line("lr", it, c.get("lr"), Chart.BLUE))));
            chart(h, "weight decay", Chart.render("Weight decay", "iteration",
                    List.of(Chart.Series.line("weight decay", it, c.get("weight_decay"), Chart.GREEN))));
            chart(h, "teacher momentum", Chart.render("Teacher momentum", "iteration",
                    List.of(Chart.Series.line("momentum", it, c.get("teacher_momentum"), Chart.PURPLE))));
            chart(h, "temperatures", Chart.render("Temperatures", "iteration", List.of(
                    Chart.Series.line("teacher [CLS]", it, c.get("teacher_temp"), Chart.BLUE),
                    Chart.Series.line("teacher patch", it, c.get("teacher_patch_temp"), Chart.RED),
                    Chart.Series.level("student", it, facts.studentTemp(), Chart.BLACK))));
        }
        if (!rows.isEmpty()) collapse(h, c, it, facts, options.path("collapse_warn_steps").asInt(50));
        knn(h, output.resolve("knn.jsonl"));
        if (!rows.isEmpty()) {
            h.append("<h2>Throughput</h2>\n");
            chart(h, "images per second", Chart.render("Images per second (global batch / step time)", "iteration",
                    List.of(Chart.Series.line("images/s", it, c.get("images_per_s"), Chart.ORANGE))));
        }
        probes(h, output);
        h.append("<h2>Options</h2>\n<details><summary>options.json</summary><pre>")
                .append(escape(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(options))).append("</pre></details>\n");
        h.append("</body></html>\n");
        Path file = output.resolve(FILE);
        AtomicFiles.writeString(file, h.toString());
        return file;
    }

    private static String summary(List<Map<String, String>> rows, JsonNode o) {
        String steps = rows.isEmpty() ? "no steps yet" : rows.size() + " steps logged (iterations " + rows.getFirst().get("iteration") + " to "
                + rows.getLast().get("iteration") + "), last loss " + rows.getLast().get("loss");
        return steps + "; " + o.path("arch").asText("?") + ", " + o.path("epochs").asText("?") + " epochs, batch "
                + o.path("batch_size_per_gpu").asText("?") + " per process, lr " + o.path("lr").asText("?") + ", out_dim "
                + o.path("out_dim").asText("?") + ", data " + o.path("data_path").asText("?");
    }

    /** Teacher entropies, prototypes in use and effective rank, with the collapsed stretches shaded (docs/collapse.md). */
    private static void collapse(StringBuilder h, Columns c, double[] it, ModelFacts facts, int warnSteps) {
        double[] entropy = c.loss("teacher_cls_entropy"), used = c.get("prototypes_used");
        if (Arrays.stream(entropy).noneMatch(Double::isFinite)) return;  // a run logged before these columns existed
        h.append("<h2>Collapse</h2>\n");
        List<Chart.Band> bands = new ArrayList<>();
        List<String> longStretches = new ArrayList<>();
        for (long[] s : CollapseWatch.stretches(it, entropy, used, facts.outDim(), 1)) {
            boolean uniform = s[2] == CollapseWatch.State.UNIFORM.ordinal();
            bands.add(new Chart.Band(uniform ? "uniform" : "one prototype", s[0], s[1], uniform ? Chart.ORANGE : Chart.RED));
            if (s[1] - s[0] + 1 >= warnSteps) {
                longStretches.add(String.format(Locale.ROOT, "%s from iteration %d to %d", uniform ? "uniform" : "on one prototype", s[0], s[1]));
            }
        }
        h.append("<p class=\"note\">").append(escape(String.format(Locale.ROOT, "Shaded: steps whose teacher [CLS] targets were uniform "
                + "(mean entropy at least %.0f %% of ln(out_dim) = %.2f nats) or had their maximum on one prototype for every global crop. "
                + "Prototypes in use are counted over the step's global crops, so at most min(out_dim, crops) can be; the effective rank is "
                + "that of the teacher's [CLS] embeddings of the batch (1: all on one line).", 100 * CollapseWatch.UNIFORM_SHARE,
                Math.log(facts.outDim())))).append("</p>\n");
        if (!longStretches.isEmpty()) {
            h.append("<p class=\"warn\">").append(escape("The teacher's [CLS] targets were collapsed for " + warnSteps
                    + " steps or more: " + String.join("; ", longStretches) + ". See docs/collapse.md for the levers.")).append("</p>\n");
        }
        chart(h, "teacher target entropy", Chart.render("Teacher target entropy (nats)", "iteration", List.of(
                Chart.Series.line("[CLS]", it, entropy, Chart.BLUE),
                Chart.Series.line("patch (masked tokens)", it, c.loss("teacher_patch_entropy"), Chart.RED),
                Chart.Series.level("ln(out_dim)", it, Math.log(facts.outDim()), Chart.GREY)), bands));
        double[] share = c.get("prototype_share");
        for (int i = 0; i < share.length; i++) share[i] *= 100;
        chart(h, "prototypes in use", Chart.render("Prototypes in use (% of min(out_dim, global crops))", "iteration",
                List.of(Chart.Series.line("in use", it, share, Chart.GREEN)), bands));
        chart(h, "effective rank", Chart.render("Effective rank of the teacher's [CLS] embeddings", "iteration",
                List.of(Chart.Series.line("effective rank", it, c.loss("effective_rank"), Chart.PURPLE)), bands));
    }

    private static void knn(StringBuilder h, Path knnJsonl) throws IOException {
        h.append("<h2>k-NN monitor</h2>\n");
        List<double[]> points = new ArrayList<>();
        if (Files.exists(knnJsonl)) {
            for (String line : Files.readAllLines(knnJsonl)) {
                try {
                    JsonNode row = JSON.readTree(line);
                    if (row != null && row.has("iteration")) {
                        points.add(new double[] {row.get("iteration").asDouble(), row.path("top1").asDouble(Double.NaN),
                                row.path("top5").asDouble(Double.NaN)});
                    }
                } catch (IOException torn) {
                    // a line cut by a crash: left out
                }
            }
        }
        if (points.isEmpty()) {
            h.append("<p>No k-NN measurement (on with --knn_every N: every N epochs on labelled data with a test split).</p>\n");
            return;
        }
        double[] x = points.stream().mapToDouble(p -> p[0]).toArray();
        chart(h, "k-NN accuracy", Chart.render("Teacher k-NN accuracy (%)", "iteration", List.of(
                Chart.Series.line("top-1", x, points.stream().mapToDouble(p -> p[1]).toArray(), Chart.BLUE),
                Chart.Series.line("top-5", x, points.stream().mapToDouble(p -> p[2]).toArray(), Chart.GREEN))));
        double[] last = points.getLast();
        h.append("<p class=\"meta\">").append(escape(String.format(Locale.ROOT, "last: iteration %.0f, top-1 %.2f %%, top-5 %.2f %%",
                last[0], last[1], last[2]))).append("</p>\n");
    }

    private static void probes(StringBuilder h, Path output) throws IOException {
        h.append("<h2>Probe images</h2>\n");
        List<Map.Entry<Long, List<ProbeStore.Stored>>> all = ProbeStore.all(output);
        if (all.isEmpty()) {
            h.append("<p>No probe figures for this run (none configured, or no checkpoint yet).</p>\n");
            return;
        }
        for (Map.Entry<Long, List<ProbeStore.Stored>> step : all) {
            h.append("<h3>checkpoint at iteration ").append(step.getKey()).append("</h3>\n");
            for (ProbeStore.Stored f : step.getValue()) {
                h.append("<figure><img alt=\"").append(escape(f.title())).append("\" src=\"data:image/png;base64,")
                        .append(Base64.getEncoder().encodeToString(f.png())).append("\"/><figcaption><b>").append(escape(f.title()))
                        .append("</b>").append(f.caption().isEmpty() ? "" : ": " + escape(f.caption())).append("</figcaption></figure>\n");
            }
        }
    }

    private static void chart(StringBuilder h, String alt, BufferedImage image) {
        h.append("<img alt=\"").append(escape(alt)).append("\" src=\"data:image/png;base64,")
                .append(Base64.getEncoder().encodeToString(Png.encode(image))).append("\"/>\n");
    }

    static String escape(String s) {
        StringBuilder out = new StringBuilder(s.length());
        for (char ch : s.toCharArray()) {
            switch (ch) {
                case '<' -> out.append("&lt;");
                case '>' -> out.append("&gt;");
                case '&' -> out.append("&amp;");
                case '"' -> out.append("&quot;");
                case '\'' -> out.append("&#39;");
                default -> out.append(ch);
            }
        }
        return out.toString();
    }

    /** metrics.csv columns as numbers; "null" (a non-finite value) and missing cells are NaN. */
    private record Columns(List<Map<String, String>> rows) {
        double[] get(String column) {
            double[] v = new double[rows.size()];
            for (int i = 0; i < v.length; i++) v[i] = parse(rows.get(i).get(column));
            return v;
        }

        /** A loss column with the steps that updated nothing (non-finite) left as gaps. */
        double[] loss(String column) {
            double[] v = get(column);
            for (int i = 0; i < v.length; i++) if (!"true".equals(rows.get(i).get("finite"))) v[i] = Double.NaN;
            return v;
        }

        private static double parse(String cell) {
            if (cell == null || cell.isEmpty() || cell.equals("null")) return Double.NaN;
            try {
                return Double.parseDouble(cell);
            } catch (NumberFormatException e) {
                return Double.NaN;
            }
        }
    }
}
