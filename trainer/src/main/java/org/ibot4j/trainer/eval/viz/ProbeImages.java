package org.ibot4j.trainer.eval.viz;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import org.ibot4j.trainer.data.MultiCropAugmentation;
import org.ibot4j.trainer.data.RgbImage;

/**
 * Square images prepared for the figures: what the model reads (normalised CHW floats) and what is
 * shown (the same crop in [0, 1]).
 *
 * @param size   pixels per side
 * @param inputs per image, {@code [3 * size * size]} normalised as in training
 * @param shown  per image, the crop before normalisation
 */
public record ProbeImages(int size, List<float[]> inputs, List<RgbImage> shown) {
    public ProbeImages {
        if (inputs.isEmpty()) throw new IllegalArgumentException("no images to draw");
        if (inputs.size() != shown.size()) throw new IllegalArgumentException(inputs.size() + " inputs but " + shown.size() + " shown images");
        for (int i = 0; i < inputs.size(); i++) {
            if (inputs.get(i).length != 3 * size * size) {
                throw new IllegalArgumentException("image " + i + " has " + inputs.get(i).length + " floats, not 3 x " + size + " x " + size);
            }
            if (shown.get(i).width() != size || shown.get(i).height() != size) {
                throw new IllegalArgumentException("shown image " + i + " is " + shown.get(i).width() + "x" + shown.get(i).height() + ", not " + size);
            }
        }
        inputs = List.copyOf(inputs);
        shown = List.copyOf(shown);
    }

    /** Resized (shorter side) and centre-cropped to {@code size}, normalised with {@code views}' statistics (evaluation views). */
    public static ProbeImages centreCrops(List<RgbImage> images, MultiCropAugmentation views, int size) {
        float[] mean = views.options().mean(), std = views.options().std();
        List<float[]> inputs = new ArrayList<>();
        List<RgbImage> shown = new ArrayList<>();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buffer = arena.allocate(ValueLayout.JAVA_FLOAT, 3L * size * size);
            for (RgbImage image : images) {
                views.centre(image, size, buffer, 0);
                float[] input = buffer.toArray(ValueLayout.JAVA_FLOAT);
                inputs.add(input);
                shown.add(unnormalised(input, size, mean, std));
            }
        }
        return new ProbeImages(size, inputs, shown);
    }

    /** Already normalised CHW images; {@code mean} and {@code std} (3 values) undo the normalisation for display. */
    public static ProbeImages normalised(List<float[]> inputs, int size, float[] mean, float[] std) {
        if (mean.length != 3 || std.length != 3) throw new IllegalArgumentException("mean and std need 3 values (one per channel)");
        for (int i = 0; i < inputs.size(); i++) {
            if (inputs.get(i).length != 3 * size * size) {
                throw new IllegalArgumentException("image " + i + " has " + inputs.get(i).length + " floats, not 3 x " + size + " x " + size);
            }
        }
        return new ProbeImages(size, inputs, inputs.stream().map(x -> unnormalised(x, size, mean, std)).toList());
    }

    public int count() {
        return inputs.size();
    }

    private static RgbImage unnormalised(float[] input, int size, float[] mean, float[] std) {
        int n = size * size;
        float[][] planes = new float[3][n];
        for (int c = 0; c < 3; c++) {
            for (int i = 0; i < n; i++) planes[c][i] = Math.min(1f, Math.max(0f, input[c * n + i] * std[c] + mean[c]));
        }
        return new RgbImage(size, size, planes);
    }
}
