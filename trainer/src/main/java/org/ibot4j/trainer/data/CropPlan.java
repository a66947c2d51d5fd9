package org.ibot4j.trainer.data;

/**
 * Everything random about one crop, drawn before any pixel is touched (so the decoder can be told how
 * much resolution the crops need): the RandomResizedCrop box in full-image pixels, then flip, colour
 * jitter, grey-scale, blur and solarisation in the order DataAugmentationiBOT applies them.
 *
 * @param size       output side in pixels
 * @param jitter     the colour jitter, or null when it was not drawn (p 0.8)
 * @param blurRadius PIL GaussianBlur radius, 0 for no blur
 */
public record CropPlan(int top, int left, int height, int width, int size, boolean flip, ColourJitter jitter, boolean grey,
        double blurRadius, boolean solarize) {

    /**
     * ColorJitter(0.4, 0.4, 0.2, 0.1) factors and the random order of its four adjustments.
     *
     * @param order a permutation of 0 (brightness), 1 (contrast), 2 (saturation), 3 (hue)
     */
    public record ColourJitter(double brightness, double contrast, double saturation, double hue, int[] order) {}

    /** Whether a decode at {@code 1 / denominator} of the full size still has at least {@code size} pixels across the box both ways. */
    boolean fitsAt(int denominator) {
        return (double) width / denominator >= size && (double) height / denominator >= size;
    }
}
