package org.ibot4j.trainer.data;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import org.ibot4j.api.image.EvalTransform;

/**
 * iBOT's DataAugmentationiBOT: one "global-1" crop, nGlobal-1 "global-2" crops and nLocal local crops
 * per image (random-resized crop, flip, colour jitter p 0.8, grey-scale p 0.2, blur p 1.0 / 0.1 / 0.5,
 * solarisation p 0.2 on global-2 only), normalised and written straight into a batch buffer.
 */
public final class MultiCropAugmentation {
    /**
     * @param globalScale RandomResizedCrop scale range of global crops (published: 0.25..1; code default 0.14..1)
     * @param localScale  scale range of local crops (published: 0.05..0.25; code default 0.05..0.4)
     */
    public record Options(int nGlobal, int nLocal, int globalSize, int localSize, double[] globalScale, double[] localScale,
            float[] mean, float[] std) {
        public static Options published(int nLocal, int globalSize, int localSize) {
            return new Options(2, nLocal, globalSize, localSize, new double[] {0.25, 1.0}, new double[] {0.05, 0.25},
                    new float[] {0.485f, 0.456f, 0.406f}, new float[] {0.229f, 0.224f, 0.225f});
        }
    }

    private final Options o;

    public MultiCropAugmentation(Options options) {
        this.o = options;
    }

    public Options options() {
        return o;
    }

    /** Global crop {@code index} (0 = global-1) of {@code image}, written as CHW floats at {@code floatOffset}. */
    public void global(RgbImage image, int index, SplittableRandom random, MemorySegment out, long floatOffset) {
        render(image, 1, planGlobal(image.width(), image.height(), index, random), out, floatOffset);
    }

    public void local(RgbImage image, SplittableRandom random, MemorySegment out, long floatOffset) {
        render(image, 1, planLocal(image.width(), image.height(), random), out, floatOffset);
    }

    /** The random part of global crop {@code index} (0 = global-1) of an image of this size. */
    public CropPlan planGlobal(int width, int height, int index, SplittableRandom random) {
        return plan(width, height, o.globalSize, o.globalScale, index == 0 ? 1.0 : 0.1, index == 0 ? 0.0 : 0.2, random);
    }

    /** The random part of a local crop of an image of this size. */
    public CropPlan planLocal(int width, int height, SplittableRandom random) {
        return plan(width, height, o.localSize, o.localScale, 0.5, 0.0, random);
    }

    /**
     * Renders {@code plan} from {@code image}, a decode at {@code 1 / denominator} of the size the plan
     * was drawn for, normalised as CHW floats into {@code out} at {@code floatOffset}.
     */
    public void render(RgbImage image, int denominator, CropPlan plan, MemorySegment out, long floatOffset) {
        RENDERERS.get().render(image, denominator, plan, o.mean, o.std, out, floatOffset);
    }

    /** The largest of 8, 4 and 2 at which a decode still has every pixel all {@code plans} need, else 1 (PIL's draft rule). */
    public static int decodeDenominator(Iterable<CropPlan> plans) {
        for (int d = 8; d > 1; d /= 2) {
            boolean fits = true;
            for (CropPlan p : plans) fits &= p.fitsAt(d);
            if (fits) return d;
        }
        return 1;
    }

    private static final ThreadLocal<CropRenderer> RENDERERS = ThreadLocal.withInitial(CropRenderer::new);

    /**
     * The linear probe's training view (eval_linear.py): RandomResizedCrop to {@code size} (scale
     * 0.08..1, ratio 3/4..4/3; bicubic here, torchvision's default there is bilinear) and a horizontal
     * flip with probability 0.5, normalised into {@code out}.
     */
    public void probeTrain(RgbImage image, int size, SplittableRandom random, MemorySegment out, long floatOffset) {
        int[] box = Augment.randomResizedCropBox(image.height(), image.width(), 0.08, 1.0, 3.0 / 4.0, 4.0 / 3.0, random);
        RgbImage crop = Augment.resizeBicubic(Augment.crop(image, box[0], box[1], box[2], box[3]), size, size);
        if (random.nextDouble() < 0.5) Augment.flipHorizontal(crop);
        write(crop, out, floatOffset);
    }

    /** Resize (shorter side) and centre crop for evaluation, normalised into {@code out} ({@link EvalTransform}). */
    public void centre(RgbImage image, int size, MemorySegment out, long floatOffset) {
        new EvalTransform(size, o.mean, o.std).write(image.pixels(), out, floatOffset);
    }

    /** Draws in the official order: crop box, flip, colour jitter (p 0.8), grey-scale (p 0.2), blur, solarisation. */
    private static CropPlan plan(int width, int height, int size, double[] scale, double blurP, double solarizeP, SplittableRandom random) {
        int[] box = Augment.randomResizedCropBox(height, width, scale[0], scale[1], 3.0 / 4.0, 4.0 / 3.0, random);
        boolean flip = random.nextDouble() < 0.5;
        CropPlan.ColourJitter jitter = random.nextDouble() < 0.8 ? drawJitter(random) : null;
        boolean grey = random.nextDouble() < 0.2;
        double blur = random.nextDouble() < blurP ? 0.1 + 1.9 * random.nextDouble() : 0;
        boolean solarize = solarizeP > 0 && random.nextDouble() < solarizeP;
        return new CropPlan(box[0], box[1], box[2], box[3], size, flip, jitter, grey, blur, solarize);
    }

    /** ColorJitter(0.4, 0.4, 0.2, 0.1): the four factors, then the order of the adjustments. */
    static CropPlan.ColourJitter drawJitter(SplittableRandom random) {
        double brightness = 0.6 + 0.8 * random.nextDouble();
        double contrast = 0.6 + 0.8 * random.nextDouble();
        double saturation = 0.8 + 0.4 * random.nextDouble();
        double hue = -0.1 + 0.2 * random.nextDouble();
        int[] order = {0, 1, 2, 3};
        for (int i = 3; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int t = order[i]; order[i] = order[j]; order[j] = t;
        }
        return new CropPlan.ColourJitter(brightness, contrast, saturation, hue, order);
    }

    /** ColorJitter(0.4, 0.4, 0.2, 0.1) with the straightforward reference operations. */
    static void colourJitter(RgbImage crop, SplittableRandom random) {
        applyJitter(crop, drawJitter(random));
    }

    static void applyJitter(RgbImage crop, CropPlan.ColourJitter j) {
        for (int op : j.order()) {
            switch (op) {
                case 0 -> Augment.brightness(crop, j.brightness());
                case 1 -> Augment.contrast(crop, j.contrast());
                case 2 -> Augment.saturation(crop, j.saturation());
                default -> Augment.hue(crop, j.hue());
            }
        }
    }

    void write(RgbImage crop, MemorySegment out, long floatOffset) {
        int n = crop.width() * crop.height();
        for (int c = 0; c < 3; c++) {
            float[] p = crop.planes()[c];
            float mean = o.mean[c], std = o.std[c];
            long base = floatOffset + (long) c * n;
            for (int i = 0; i < n; i++) out.setAtIndex(ValueLayout.JAVA_FLOAT, base + i, (p[i] - mean) / std);
        }
    }
}
