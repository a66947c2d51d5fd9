package org.ibot4j.trainer.eval.viz;

import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.util.List;
import org.ibot4j.trainer.data.RgbImage;

/**
 * Drawing of the figures' panels: an image, a patch-grid map upsampled to it (nearest, one patch per
 * patch-size block of pixels, as official visualize_attention.py), masks, and sheets of panels with
 * column titles. Panels are drawn at an integer multiple of the image size so small images stay visible.
 */
final class Panels {
    /** Distinct mask colours, one per head (cycled). */
    private static final int[] HEAD_COLOURS = {0xE6194B, 0x3CB44B, 0x4363D8, 0xF58231, 0x911EB4, 0x42D4F4, 0xF032E6, 0xBFEF45,
        0xFABED4, 0x469990, 0xDCBEFF, 0x9A6324};
    private static final int GAP = 4, TITLE = 18, MIN_PANEL = 112;

    private final int size, patch, scale;

    /** Panels for {@code size}-pixel images read in {@code patch}-pixel patches. */
    Panels(int size, int patch) {
        this.size = size;
        this.patch = patch;
        this.scale = Math.max(1, (MIN_PANEL + size - 1) / size);
    }

    int side() {
        return size * scale;
    }

    BufferedImage image(RgbImage image) {
        return draw((x, y) -> pixel(image, x, y));
    }

    /** {@code values} per patch, min-max normalised and coloured with viridis, blended over the image. */
    BufferedImage heat(RgbImage image, float[] values, int gridWidth, double opacity) {
        double lo = Double.POSITIVE_INFINITY, hi = Double.NEGATIVE_INFINITY;
        for (float v : values) {
            lo = Math.min(lo, v);
            hi = Math.max(hi, v);
        }
        double low = lo, range = hi - lo;
        return draw((x, y) -> {
            int p = patchAt(x, y, gridWidth, values.length);
            if (p < 0) return pixel(image, x, y);
            int colour = Colormap.viridis(range > 0 ? (values[p] - low) / range : 0);
            return blend(colour, pixel(image, x, y), opacity);
        });
    }

    /** The image tinted with the head's colour inside the mask and darkened outside it. */
    BufferedImage mask(RgbImage image, boolean[] kept, int gridWidth, int head) {
        int colour = HEAD_COLOURS[head % HEAD_COLOURS.length];
        return draw((x, y) -> {
            int p = patchAt(x, y, gridWidth, kept.length);
            int under = pixel(image, x, y);
            if (p >= 0 && kept[p]) return blend(colour, under, 0.5);
            return blend(0, under, 0.7);
        });
    }

    /** Per patch {r, g, b} in [0, 1]. */
    BufferedImage rgb(float[][] colours, int gridWidth) {
        return draw((x, y) -> {
            int p = patchAt(x, y, gridWidth, colours.length);
            if (p < 0) return 0;
            return channel(colours[p][0]) << 16 | channel(colours[p][1]) << 8 | channel(colours[p][2]);
        });
    }

    /**
     * Panels in rows of equal length; {@code titles.get(r)} names the panels of row r in a band above
     * it (an empty list: no band, the row continues the columns above).
     */
    static BufferedImage sheet(List<List<String>> titles, List<List<BufferedImage>> rows) {
        if (titles.size() != rows.size()) throw new IllegalArgumentException(titles.size() + " title rows for " + rows.size() + " rows");
        int columns = rows.get(0).size(), side = rows.get(0).get(0).getWidth();
        int width = columns * side + (columns + 1) * GAP, height = GAP;
        for (List<String> t : titles) height += (t.isEmpty() ? 0 : TITLE) + GAP + side;
        BufferedImage sheet = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = sheet.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, width, height);
        g.setColor(Color.BLACK);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        FontMetrics metrics = g.getFontMetrics();
        int y = 0;
        for (int r = 0; r < rows.size(); r++) {
            List<BufferedImage> row = rows.get(r);
            List<String> names = titles.get(r);
            if (row.size() != columns) throw new IllegalArgumentException("row " + r + " has " + row.size() + " panels, the first " + columns);
            if (!names.isEmpty()) {
                if (names.size() != columns) throw new IllegalArgumentException("row " + r + " has " + names.size() + " titles for " + columns + " panels");
                for (int c = 0; c < columns; c++) {
                    int x = GAP + c * (side + GAP) + Math.max(0, (side - metrics.stringWidth(names.get(c))) / 2);
                    g.drawString(names.get(c), x, y + TITLE - 5);
                }
                y += TITLE;
            }
            y += GAP;
            for (int c = 0; c < columns; c++) g.drawImage(row.get(c), GAP + c * (side + GAP), y, null);
            y += side;
        }
        g.dispose();
        return sheet;
    }

    private interface PixelRule {
        int colour(int x, int y);
    }

    /** A panel whose pixel (x, y) at display scale takes the colour of image pixel (x / scale, y / scale). */
    private BufferedImage draw(PixelRule rule) {
        int side = side();
        BufferedImage out = new BufferedImage(side, side, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < size; y++) {
            for (int x = 0; x < size; x++) {
                int colour = rule.colour(x, y);
                for (int dy = 0; dy < scale; dy++) for (int dx = 0; dx < scale; dx++) out.setRGB(x * scale + dx, y * scale + dy, colour);
            }
        }
        return out;
    }

    /** The patch covering image pixel (x, y), or -1 past the last full patch (sizes not a multiple of the patch). */
    private int patchAt(int x, int y, int gridWidth, int patches) {
        int p = (y / patch) * gridWidth + x / patch;
        return x / patch < gridWidth && p < patches ? p : -1;
    }

    private static int pixel(RgbImage image, int x, int y) {
        return channel(image.get(0, x, y)) << 16 | channel(image.get(1, x, y)) << 8 | channel(image.get(2, x, y));
    }

    private static int channel(float v) {
        return Math.round(Math.min(1f, Math.max(0f, v)) * 255f);
    }

    /** {@code top} over {@code under} at {@code opacity}. */
    private static int blend(int top, int under, double opacity) {
        int out = 0;
        for (int shift = 16; shift >= 0; shift -= 8) {
            double v = opacity * (top >> shift & 0xff) + (1 - opacity) * (under >> shift & 0xff);
            out |= (int) Math.round(v) << shift;
        }
        return out;
    }
}
