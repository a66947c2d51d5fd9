package org.ibot4j.trainer.data;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * iBOT's masks on a patch grid (BEiT-style blocks, or uniformly random cells), following the official
 * ImageFolderMask: the target count is ratio * H * W; blocks are drawn with area ~ U(low, remaining)
 * and log-uniform aspect ratio, accepted only if they mask new cells without overshooting the target.
 */
public final class BlockMaskGenerator {
    public enum Shape { BLOCK, RAND }

    private final Shape shape;
    private final double minAspect, maxAspect;

    public BlockMaskGenerator(Shape shape, double minAspect, double maxAspect) {
        this.shape = shape;
        this.minAspect = minAspect;
        this.maxAspect = maxAspect;
    }

    /** The official default: blocks with aspect ratio in (0.3, 1/0.3). */
    public static BlockMaskGenerator official() {
        return new BlockMaskGenerator(Shape.BLOCK, 0.3, 1 / 0.3);
    }

    /** Fills {@code mask} (row-major H*W, 1 = masked) for a target ratio; returns the masked count. */
    public int generate(boolean[] mask, int height, int width, double ratio, SplittableRandom random) {
        Arrays.fill(mask, false);
        double target = ratio * height * width;
        if (target <= 0) return 0;
        return shape == Shape.RAND ? random(mask, (int) Math.floor(target), random) : blocks(mask, height, width, target, random);
    }

    private static int random(boolean[] mask, int count, SplittableRandom random) {
        // Partial Fisher-Yates: exactly `count` distinct cells, uniformly.
        int[] cells = new int[mask.length];
        for (int i = 0; i < cells.length; i++) cells[i] = i;
        for (int i = 0; i < count; i++) {
            int j = i + random.nextInt(cells.length - i);
            int t = cells[i]; cells[i] = cells[j]; cells[j] = t;
            mask[cells[i]] = true;
        }
        return count;
    }

    private int blocks(boolean[] mask, int height, int width, double target, SplittableRandom random) {
        int low = (Math.min(height, width) / 3) * (Math.min(height, width) / 3);
        double logMin = Math.log(minAspect), logMax = Math.log(maxAspect);
        int count = 0;
        while (count < target) {
            double remaining = target - count;
            int delta = 0;
            for (int attempt = 0; attempt < 10; attempt++) {
                // numpy's uniform(low, high) is low + (high - low) * U, also when high < low.
                double area = low + (remaining - low) * random.nextDouble();
                double aspect = Math.exp(logMin + (logMax - logMin) * random.nextDouble());
                // Python round(): half to even, as Math.rint.
                int h = (int) Math.rint(Math.sqrt(area * aspect));
                int w = (int) Math.rint(Math.sqrt(area / aspect));
                if (w < width && h < height) {
                    int top = random.nextInt(height - h + 1);
                    int left = random.nextInt(width - w + 1);
                    int fresh = 0;
                    for (int y = top; y < top + h; y++) {
                        for (int x = left; x < left + w; x++) if (!mask[y * width + x]) fresh++;
                    }
                    if (fresh > 0 && fresh <= remaining) {
                        for (int y = top; y < top + h; y++) {
                            for (int x = left; x < left + w; x++) mask[y * width + x] = true;
                        }
                        delta = fresh;
                    }
                }
                if (delta > 0) break;
            }
            if (delta == 0) break;
            count += delta;
        }
        return count;
    }
}
