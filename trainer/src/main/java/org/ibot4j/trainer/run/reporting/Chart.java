package org.ibot4j.trainer.run.reporting;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.Stroke;
import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** A line chart over iterations drawn with Java2D (no fonts or files beyond the JDK's), for the run report. */
final class Chart {
    static final Color BLACK = Color.BLACK, BLUE = new Color(0x1f77b4), RED = new Color(0xd62728), GREEN = new Color(0x2ca02c),
            ORANGE = new Color(0xff7f0e), PURPLE = new Color(0x9467bd), GREY = new Color(0x7f7f7f);

    /** One line; {@code x} and {@code y} of equal length, non-finite y values leave a gap; dashed lines are references. */
    record Series(String name, double[] x, double[] y, Color colour, boolean dashed) {
        static Series line(String name, double[] x, double[] y, Color colour) {
            return new Series(name, x, y, colour, false);
        }

        /** A horizontal reference line over the x range of {@code x}. */
        static Series level(String name, double[] x, double value, Color colour) {
            double[] y = new double[x.length];
            Arrays.fill(y, value);
            return new Series(name, x, y, colour, true);
        }
    }

    /** A shaded stretch of x values [from, to] (a region of the run), named once in the legend. */
    record Band(String name, double from, double to, Color colour) {}

    private static final int WIDTH = 760, HEIGHT = 300, LEFT = 78, RIGHT = 16, TOP = 34, BOTTOM = 40;

    private Chart() {}

    static BufferedImage render(String title, String xLabel, List<Series> series) {
        return render(title, xLabel, series, List.of());
    }

    /** The same with shaded bands behind the lines (translucent, so overlapping bands stay visible). */
    static BufferedImage render(String title, String xLabel, List<Series> series, List<Band> bands) {
        BufferedImage image = new BufferedImage(WIDTH, HEIGHT, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, WIDTH, HEIGHT);
            g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
            double[] xr = range(series, true), yr = range(series, false);
            if (yr[0] == yr[1]) {  // a constant: centre it in a band around the value
                double pad = yr[0] == 0 ? 1 : Math.abs(yr[0]) * 0.1;
                yr = new double[] {yr[0] - pad, yr[1] + pad};
            } else {
                double pad = (yr[1] - yr[0]) * 0.05;
                yr = new double[] {yr[0] - pad, yr[1] + pad};
            }
            if (xr[0] == xr[1]) xr = new double[] {xr[0] - 0.5, xr[1] + 0.5};
            int plotW = WIDTH - LEFT - RIGHT, plotH = HEIGHT - TOP - BOTTOM;
            axes(g, xr, yr, plotW, plotH, title, xLabel);
            Map<String, Color> bandLegend = new LinkedHashMap<>();
            for (Band b : bands) {
                double from = Math.max(b.from() - 0.5, xr[0]), to = Math.min(b.to() + 0.5, xr[1]);
                if (to < from) continue;
                int x0 = LEFT + (int) Math.floor((from - xr[0]) / (xr[1] - xr[0]) * plotW);
                int x1 = LEFT + (int) Math.ceil((to - xr[0]) / (xr[1] - xr[0]) * plotW);
                g.setColor(new Color(b.colour().getRed(), b.colour().getGreen(), b.colour().getBlue(), 60));
                g.fillRect(x0, TOP + 1, Math.max(1, x1 - x0), plotH - 1);
                bandLegend.putIfAbsent(b.name(), b.colour());
            }
            Stroke solid = new BasicStroke(1.4f), dashed = new BasicStroke(1.2f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f,
                    new float[] {6f, 4f}, 0f);
            int legendX = WIDTH - RIGHT;
            FontMetrics fm = g.getFontMetrics();
            for (int s = series.size() - 1; s >= 0; s--) {
                Series line = series.get(s);
                g.setColor(line.colour());
                g.setStroke(line.dashed() ? dashed : solid);
                int px = Integer.MIN_VALUE, py = 0;
                for (int i = 0; i < line.x().length; i++) {
                    if (!Double.isFinite(line.y()[i])) {
                        px = Integer.MIN_VALUE;
                        continue;
                    }
                    int x = LEFT + (int) Math.round((line.x()[i] - xr[0]) / (xr[1] - xr[0]) * plotW);
                    int y = TOP + plotH - (int) Math.round((line.y()[i] - yr[0]) / (yr[1] - yr[0]) * plotH);
                    if (px != Integer.MIN_VALUE) g.drawLine(px, py, x, y);
                    else if (line.x().length == 1 || i + 1 == line.x().length || !Double.isFinite(line.y()[i + 1])) g.fillOval(x - 2, y - 2, 5, 5);
                    px = x;
                    py = y;
                }
                legendX -= fm.stringWidth(line.name()) + 30;
                g.setStroke(line.dashed() ? dashed : solid);
                g.drawLine(legendX, 20, legendX + 18, 20);
                g.drawString(line.name(), legendX + 22, 24);
            }
            for (var band : bandLegend.entrySet()) {
                legendX -= fm.stringWidth(band.getKey()) + 30;
                Color c = band.getValue();
                g.setColor(new Color(c.getRed(), c.getGreen(), c.getBlue(), 60));
                g.fillRect(legendX, 14, 18, 12);
                g.setColor(c);
                g.drawString(band.getKey(), legendX + 22, 24);
            }
        } finally {
            g.dispose();
        }
        return image;
    }

    private static void axes(Graphics2D g, double[] xr, double[] yr, int plotW, int plotH, String title, String xLabel) {
        FontMetrics fm = g.getFontMetrics();
        for (double v : ticks(yr[0], yr[1])) {
            int y = TOP + plotH - (int) Math.round((v - yr[0]) / (yr[1] - yr[0]) * plotH);
            g.setColor(new Color(0xe6e6e6));
            g.drawLine(LEFT, y, LEFT + plotW, y);
            g.setColor(Color.DARK_GRAY);
            String label = number(v);
            g.drawString(label, LEFT - 6 - fm.stringWidth(label), y + 4);
        }
        for (double v : ticks(xr[0], xr[1])) {
            int x = LEFT + (int) Math.round((v - xr[0]) / (xr[1] - xr[0]) * plotW);
            g.setColor(Color.DARK_GRAY);
            g.drawLine(x, TOP + plotH, x, TOP + plotH + 3);
            String label = number(v);
            g.drawString(label, x - fm.stringWidth(label) / 2, TOP + plotH + 15);
        }
        g.setColor(Color.BLACK);
        g.drawRect(LEFT, TOP, plotW, plotH);
        g.setFont(g.getFont().deriveFont(Font.BOLD, 13f));
        g.drawString(title, LEFT, 22);
        g.setFont(g.getFont().deriveFont(Font.PLAIN, 11f));
        g.drawString(xLabel, LEFT + plotW / 2 - g.getFontMetrics().stringWidth(xLabel) / 2, HEIGHT - 8);
    }

    /** Round tick values (1, 2 or 5 times a power of ten apart, about five of them) inside [lo, hi]. */
    static List<Double> ticks(double lo, double hi) {
        double raw = (hi - lo) / 5, magnitude = Math.pow(10, Math.floor(Math.log10(raw))), step;
        double f = raw / magnitude;
        step = (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * magnitude;
        List<Double> out = new ArrayList<>();
        for (double v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.add(Math.abs(v) < step * 1e-9 ? 0 : v);
        return out;
    }

    private static double[] range(List<Series> series, boolean x) {
        double lo = Double.POSITIVE_INFINITY, hi = Double.NEGATIVE_INFINITY;
        for (Series s : series) {
            for (int i = 0; i < s.x().length; i++) {
                double v = x ? s.x()[i] : s.y()[i];
                if (!Double.isFinite(s.y()[i]) || !Double.isFinite(v)) continue;
                lo = Math.min(lo, v);
                hi = Math.max(hi, v);
            }
        }
        return lo <= hi ? new double[] {lo, hi} : new double[] {0, 1};
    }

    /** Tick labels: plain for ordinary magnitudes, scientific for tiny learning rates. */
    static String number(double v) {
        double a = Math.abs(v);
        if (a == 0) return "0";
        if (a >= 1e6 || a < 1e-3) return String.format(Locale.ROOT, "%.3g", v);
        if (v == Math.rint(v)) return String.format(Locale.ROOT, "%.0f", v);
        return String.format(Locale.ROOT, "%.6g", v).replaceAll("0+$", "");
    }
}
