package org.ibot4j.trainer.eval.viz;

import java.awt.image.BufferedImage;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.ibot4j.api.IbotModel;
import org.ibot4j.api.Network;
import org.ibot4j.trainer.data.RgbImage;

/**
 * What a model learnt, drawn for a few images: the last block's [CLS] attention per head with the
 * masks of official visualize_attention.py, and the PCA of the patch features as in DINOv2's figures.
 * {@link #compute} runs the model once; the figures are then drawn from the results.
 */
public final class AttentionPcaFigures {
    private static final int CHUNK = 16;
    /** How much of the colour map covers the image under it. */
    private static final double HEAT_OPACITY = 0.75;

    /**
     * @param network    whose backbone is drawn
     * @param threshold  share of each head's attention mass its mask keeps (official visualize_attention.py: 0.6)
     * @param foreground threshold on the normalised first PCA component that marks a patch as foreground
     */
    public record Options(Network network, double threshold, double foreground) {
        public static final double THRESHOLD = 0.6, FOREGROUND = 0.5;

        public Options {
            if (network == null) throw new IllegalArgumentException("no network given");
            if (!(threshold > 0 && threshold <= 1)) throw new IllegalArgumentException("the attention threshold must be in (0, 1], got " + threshold);
            if (!(foreground >= 0 && foreground < 1)) throw new IllegalArgumentException("the foreground threshold must be in [0, 1), got " + foreground);
        }

        /** The teacher, 0.6 of the attention mass, foreground above 0.5. */
        public static Options defaults() {
            return new Options(Network.TEACHER, THRESHOLD, FOREGROUND);
        }
    }

    private final ProbeImages images;
    private final List<List<AttentionMap>> attention;
    private final PatchPca pca;
    private final Panels panels;
    private final double threshold;

    private AttentionPcaFigures(ProbeImages images, List<List<AttentionMap>> attention, PatchPca pca, int patch, double threshold) {
        this.images = images;
        this.threshold = threshold;
        this.attention = attention;
        this.pca = pca;
        this.panels = new Panels(images.size(), patch);
    }

    /** Runs {@code model} on {@code images}: [CLS] attention of the last block and the normalised patch tokens. */
    public static AttentionPcaFigures compute(IbotModel model, ProbeImages images, Options options) {
        int size = images.size(), patch = model.config().patchSize(), dim = model.config().embedDim();
        if (model.config().inChans() != 3) {
            throw new IllegalArgumentException("the figures draw RGB images; this model reads " + model.config().inChans() + " channels");
        }
        if (size < patch) throw new IllegalArgumentException("images of " + size + " px are smaller than one patch (" + patch + " px)");
        int grid = size / patch, patches = grid * grid, floatsPerImage = 3 * size * size;
        List<List<AttentionMap>> attention = new ArrayList<>();
        float[][][] tokens = new float[images.count()][][];
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment batch = arena.allocate(ValueLayout.JAVA_FLOAT, (long) CHUNK * floatsPerImage);
            MemorySegment patchOut = arena.allocate(ValueLayout.JAVA_FLOAT, (long) CHUNK * patches * dim);
            for (int start = 0; start < images.count(); start += CHUNK) {
                int n = Math.min(CHUNK, images.count() - start);
                for (int i = 0; i < n; i++) {
                    MemorySegment.copy(images.inputs().get(start + i), 0, batch, ValueLayout.JAVA_FLOAT, (long) i * floatsPerImage * Float.BYTES, floatsPerImage);
                }
                MemorySegment input = batch.asSlice(0, (long) n * floatsPerImage * Float.BYTES);
                for (float[][] heads : model.attention(options.network(), input, n, size, size)) {
                    List<AttentionMap> maps = new ArrayList<>();
                    for (float[] row : heads) maps.add(AttentionMap.of(row, grid, grid, options.threshold()));
                    attention.add(List.copyOf(maps));
                }
                MemorySegment out = patchOut.asSlice(0, (long) n * patches * dim * Float.BYTES);
                model.embed(options.network(), input, n, size, size, MemorySegment.NULL, MemorySegment.NULL, out);
                for (int i = 0; i < n; i++) {
                    float[][] rows = new float[patches][];
                    for (int p = 0; p < patches; p++) {
                        rows[p] = out.asSlice(((long) i * patches + p) * dim * Float.BYTES, (long) dim * Float.BYTES).toArray(ValueLayout.JAVA_FLOAT);
                    }
                    tokens[start + i] = rows;
                }
            }
        }
        return new AttentionPcaFigures(images, List.copyOf(attention), PatchPca.of(tokens, grid, grid, options.foreground()), patch, options.threshold());
    }

    /** Per image, per head. */
    public List<List<AttentionMap>> attention() {
        return attention;
    }

    public PatchPca pca() {
        return pca;
    }

    /** One image: the image and each head's attention over it (top row); the mean over heads and each head's mask (bottom row). */
    public BufferedImage attentionFigure(int index) {
        List<AttentionMap> heads = attention.get(index);
        RgbImage shown = images.shown().get(index);
        List<String> topTitles = new ArrayList<>(List.of("image")), bottomTitles = new ArrayList<>(List.of("mean of heads"));
        List<BufferedImage> top = new ArrayList<>(List.of(panels.image(shown)));
        List<BufferedImage> bottom = new ArrayList<>(List.of(panels.heat(shown, meanOverHeads(heads), heads.get(0).gridWidth(), HEAT_OPACITY)));
        for (int h = 0; h < heads.size(); h++) {
            topTitles.add("head " + h);
            bottomTitles.add(maskTitle(h));
            top.add(heat(index, h));
            bottom.add(mask(index, h));
        }
        return Panels.sheet(List.of(topTitles, bottomTitles), List.of(top, bottom));
    }

    /** Every image, one per row: the image, each head's attention, each head's mask. */
    public BufferedImage attentionGrid() {
        int heads = attention.get(0).size();
        List<String> titles = new ArrayList<>(List.of("image"));
        for (int h = 0; h < heads; h++) titles.add("head " + h);
        for (int h = 0; h < heads; h++) titles.add(maskTitle(h));
        List<List<BufferedImage>> rows = new ArrayList<>();
        for (int i = 0; i < images.count(); i++) {
            List<BufferedImage> row = new ArrayList<>(List.of(panels.image(images.shown().get(i))));
            for (int h = 0; h < heads; h++) row.add(heat(i, h));
            for (int h = 0; h < heads; h++) row.add(mask(i, h));
            rows.add(row);
        }
        return Panels.sheet(titlesOverFirstRow(titles, rows.size()), rows);
    }

    /** One row per image: the image, the first PCA component (foreground high), the foreground's three components as RGB. */
    public BufferedImage pcaGrid() {
        List<List<BufferedImage>> rows = new ArrayList<>();
        for (int i = 0; i < images.count(); i++) {
            RgbImage shown = images.shown().get(i);
            rows.add(List.of(panels.image(shown), panels.heat(shown, pca.first()[i], pca.gridWidth(), 1.0), panels.rgb(pca.rgb()[i], pca.gridWidth())));
        }
        return Panels.sheet(titlesOverFirstRow(List.of("image", "PCA 1", "PCA fg RGB"), rows.size()), rows);
    }

    public byte[] attentionGridPng() {
        return png(attentionGrid());
    }

    public byte[] pcaGridPng() {
        return png(pcaGrid());
    }

    public byte[] attentionFigurePng(int index) {
        return png(attentionFigure(index));
    }

    public static byte[] png(BufferedImage image) {
        return Png.encode(image);
    }

    private String maskTitle(int head) {
        return String.format(Locale.ROOT, "mask %d (%.0f %%)", head, 100 * threshold);
    }

    private static List<List<String>> titlesOverFirstRow(List<String> titles, int rows) {
        List<List<String>> all = new ArrayList<>(List.of(titles));
        for (int r = 1; r < rows; r++) all.add(List.of());
        return all;
    }

    private BufferedImage heat(int image, int head) {
        AttentionMap map = attention.get(image).get(head);
        return panels.heat(images.shown().get(image), map.attention(), map.gridWidth(), HEAT_OPACITY);
    }

    private BufferedImage mask(int image, int head) {
        AttentionMap map = attention.get(image).get(head);
        return panels.mask(images.shown().get(image), map.kept(), map.gridWidth(), head);
    }

    private static float[] meanOverHeads(List<AttentionMap> heads) {
        float[] mean = new float[heads.get(0).attention().length];
        for (AttentionMap map : heads) for (int p = 0; p < mean.length; p++) mean[p] += map.attention()[p] / heads.size();
        return mean;
    }
}
