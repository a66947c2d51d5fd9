package org.ibot4j.trainer.run.reporting;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.ibot4j.api.io.AtomicFiles;
import org.ibot4j.trainer.eval.viz.Png;

/** {@code loss.png}: per-step losses (total, CLS, patch), so a run can be judged at a glance without the report. */
public final class LossCurve {
    private LossCurve() {}

    /** {@code rows}: one {total, cls, patch} per logged step, in order. */
    public static void write(Path file, List<double[]> rows, String title) throws IOException {
        double[] x = new double[rows.size()], total = new double[rows.size()], cls = new double[rows.size()], patch = new double[rows.size()];
        for (int i = 0; i < rows.size(); i++) {
            x[i] = i;
            total[i] = rows.get(i)[0];
            cls[i] = rows.get(i)[1];
            patch[i] = rows.get(i)[2];
        }
        var image = Chart.render(title, "step (" + rows.size() + ")", List.of(Chart.Series.line("loss", x, total, Chart.BLACK),
                Chart.Series.line("cls", x, cls, Chart.BLUE), Chart.Series.line("patch", x, patch, Chart.RED)));
        AtomicFiles.writeBytes(file, Png.encode(image));
    }
}
