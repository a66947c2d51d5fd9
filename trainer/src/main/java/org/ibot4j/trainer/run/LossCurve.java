package org.ibot4j.trainer.run;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;

/** A PNG line chart of per-step losses (total, CLS, patch), so a run can be judged at a glance. */
public final class LossCurve {
    private LossCurve() {}

    public static void write(Path file, List<double[]> rows, String title) throws IOException {
        int width = 900, height = 500, left = 70, right = 20, top = 40, bottom = 50;
        BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, width, height);
        double max = 0;
        for (double[] r : rows) for (double v : r) if (Double.isFinite(v)) max = Math.max(max, v);
        max = max <= 0 ? 1 : max * 1.05;
        int plotW = width - left - right, plotH = height - top - bottom;
        g.setColor(Color.LIGHT_GRAY);
        for (int i = 0; i <= 5; i++) {
            int y = top + plotH - i * plotH / 5;
            g.drawLine(left, y, left + plotW, y);
            g.setColor(Color.DARK_GRAY);
            g.drawString(String.format("%.2f", max * i / 5), 10, y + 4);
            g.setColor(Color.LIGHT_GRAY);
        }
        g.setColor(Color.BLACK);
        g.drawRect(left, top, plotW, plotH);
        g.drawString(title, left, 25);
        g.drawString("step (" + rows.size() + ")", left + plotW / 2 - 20, height - 15);
        Color[] colours = {Color.BLACK, new Color(0x1f77b4), new Color(0xd62728)};
        String[] names = {"loss", "cls", "patch"};
        g.setStroke(new BasicStroke(1.5f));
        for (int series = 0; series < 3; series++) {
            g.setColor(colours[series]);
            g.drawString(names[series], left + plotW - 150 + series * 50, 25);
            int px = -1, py = -1;
            for (int i = 0; i < rows.size(); i++) {
                double v = rows.get(i)[series];
                if (!Double.isFinite(v)) continue;
                int x = left + (int) ((long) i * plotW / Math.max(1, rows.size() - 1));
                int y = top + plotH - (int) (v / max * plotH);
                if (px >= 0) g.drawLine(px, py, x, y);
                px = x;
                py = y;
            }
        }
        g.dispose();
        org.ibot4j.api.io.AtomicFiles.write(file, out -> ImageIO.write(image, "png", out));
    }
}
