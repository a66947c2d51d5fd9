package org.ibot4j.examples;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import org.ibot4j.api.Encoder;
import org.ibot4j.api.IbotConfig;
import org.ibot4j.api.IbotModel;
import org.ibot4j.api.LibTorchInfo;
import org.ibot4j.api.NativeLibrary;
import org.ibot4j.api.StepParams;
import org.ibot4j.api.StepResult;
import org.ibot4j.api.TrainBatch;
import org.ibot4j.api.io.AtomicFiles;
import org.ibot4j.trainer.data.IdxDataset;

/**
 * ibot4j from another project: a small ViT trained for three iBOT steps on Fashion-MNIST, saved,
 * reopened, and used as a feature extractor through an {@link Encoder}. Needs {@code --enable-native-access=ALL-UNNAMED}.
 *
 * <p>Arguments: an optional output folder (default: a new temporary folder). Fashion-MNIST is read from
 * {@code $IBOT4J_FASHION_MNIST} or {@code /usr/share/datasets/fashion-mnist} (Debian package
 * dataset-fashion-mnist). Exits with status 1 when the reopened model differs from the saved one.
 */
public final class QuickStart {
    static final int IMG = 32, LOCAL = 16, BATCH = 8, N_GLOBAL = 2, N_LOCAL = 2, STEPS = 3;

    public static void main(String[] args) throws Exception {
        Path out = args.length > 0 ? Files.createDirectories(Path.of(args[0])) : Files.createTempDirectory("ibot4j-quickstart");

        LibTorchInfo info = NativeLibrary.load();
        System.out.println("native library: " + info.library() + " (LibTorch " + info.loadedVersion() + ")");
        for (String step : NativeLibrary.diagnose()) System.out.println("  " + step);
        if (Boolean.getBoolean("ibot4j.examples.requireExtracted") && NativeLibrary.diagnose().stream()
                .noneMatch(s -> s.startsWith("libibot4j: ") && s.contains("extract") && s.endsWith(": used"))) {
            fail("expected libibot4j to be extracted from the ibot4j-native jar, but it was loaded from " + info.library());
        }

        IbotConfig config = IbotConfig.builder()
                .imgSize(IMG).patchSize(4).embedDim(64).depth(2).numHeads(2)
                .outDim(256).patchOutDim(256).hiddenDim(128).bottleneckDim(64)
                .numThreads(2)
                .build();

        String dataDir = System.getenv().getOrDefault("IBOT4J_FASHION_MNIST", "/usr/share/datasets/fashion-mnist");
        IdxDataset data = IdxDataset.read(Path.of(dataDir), "train").head(BATCH * STEPS);
        System.out.printf(Locale.ROOT, "data: %d Fashion-MNIST images (%d x %d) from %s%n", data.size(), data.rows(), data.cols(), dataDir);

        Path checkpoint = out.resolve("quickstart.ckpt");
        StepParams params = new StepParams(5e-4, 0.04, 0.996, 0.04, 0.04, false, 3.0);
        try (Arena arena = Arena.ofConfined(); IbotModel model = IbotModel.create(config)) {
            TrainBatch batch = TrainBatch.allocate(arena, config, BATCH, N_GLOBAL, N_LOCAL, IMG, LOCAL);
            for (int step = 0; step < STEPS; step++) {
                fill(batch, config, data, step * BATCH, new SplittableRandom(step));
                StepResult r = model.trainStep(batch, params);
                System.out.printf(Locale.ROOT, "step %d: %s%n", step + 1, r);
                if (!r.finite()) fail("step " + (step + 1) + " gave a non-finite loss");
            }
            String metadata = new ObjectMapper().createObjectNode().put("example", "QuickStart").put("steps", STEPS).toString();
            // temporary file, fsync, rename, folder fsync: a crash leaves the old checkpoint or the new one
            AtomicFiles.writeToPath(checkpoint, temporary -> model.save(temporary, metadata));
            System.out.println("saved " + checkpoint + " (" + Files.size(checkpoint) + " bytes)");

            try (IbotModel reopened = IbotModel.open(checkpoint, 2)) {
                List<String> teacher = model.tensorNames().stream().filter(n -> n.startsWith("teacher.")).toList();
                if (teacher.isEmpty()) fail("no teacher tensors in " + model.tensorNames());
                for (String name : teacher) {
                    if (!Arrays.equals(model.readTensor(name), reopened.readTensor(name))) fail("teacher tensor " + name + " differs after reopening");
                }
                System.out.println("teacher weights equal after reopening: " + teacher.size() + " tensors");
            }
        }
        // Features: an Encoder prepares images itself (resize, centre crop, the checkpoint's normalisation)
        // and holds the teacher's backbone only.
        try (Encoder encoder = Encoder.open(checkpoint, Encoder.Options.defaults().threads(2))) {
            int n = 4;
            float[][] features = encoder.embed(ConcurrentEmbedding.slices(data.head(n), 1).get(0));
            System.out.println("features: [" + features.length + ", " + features[0].length + "]");
            if (features.length != n || features[0].length != config.embedDim()) fail("unexpected feature shape");
        }
        System.out.println("QuickStart OK");
    }

    /**
     * Images {@code first..first+BATCH-1}: 28x28 grey padded to 32x32, normalised, repeated over the
     * channels. Global crops: the image and its mirror; local crops: both at half size; masks: a 4x4
     * patch block on the first global crop of every other image.
     */
    static void fill(TrainBatch batch, IbotConfig config, IdxDataset data, int first, SplittableRandom random) {
        int c = config.inChans(), rows = data.rows(), cols = data.cols(), pad = (IMG - rows) / 2;
        MemorySegment global = batch.globalCrops(), local = batch.localCrops(), masks = batch.masks();
        masks.fill((byte) 0);
        float[] img = new float[IMG * IMG];
        for (int b = 0; b < BATCH; b++) {
            byte[] pixels = data.images()[(first + b) % data.size()];
            Arrays.fill(img, (0f - 0.5f) / 0.5f);
            for (int y = 0; y < rows; y++) {
                for (int x = 0; x < cols; x++) img[(y + pad) * IMG + x + pad] = ((pixels[y * cols + x] & 0xff) / 255f - 0.5f) / 0.5f;
            }
            for (int crop = 0; crop < N_GLOBAL; crop++) {
                long base = ((long) crop * BATCH + b) * c * IMG * IMG;
                for (int ch = 0; ch < c; ch++) {
                    for (int y = 0; y < IMG; y++) {
                        for (int x = 0; x < IMG; x++) {
                            float v = img[y * IMG + (crop == 0 ? x : IMG - 1 - x)];
                            global.setAtIndex(ValueLayout.JAVA_FLOAT, base + ((long) ch * IMG + y) * IMG + x, v);
                        }
                    }
                }
            }
            for (int crop = 0; crop < N_LOCAL; crop++) {
                long base = ((long) crop * BATCH + b) * c * LOCAL * LOCAL;
                for (int ch = 0; ch < c; ch++) {
                    for (int y = 0; y < LOCAL; y++) {
                        for (int x = 0; x < LOCAL; x++) {
                            float sum = 0;
                            for (int dy = 0; dy < 2; dy++) {
                                for (int dx = 0; dx < 2; dx++) {
                                    int sx = 2 * x + dx;
                                    sum += img[(2 * y + dy) * IMG + (crop == 0 ? sx : IMG - 1 - sx)];
                                }
                            }
                            local.setAtIndex(ValueLayout.JAVA_FLOAT, base + ((long) ch * LOCAL + y) * LOCAL + x, sum / 4);
                        }
                    }
                }
            }
            if (b % 2 == 0) {
                int grid = IMG / config.patchSize();
                int top = random.nextInt(grid - 4), left = random.nextInt(grid - 4);
                for (int y = top; y < top + 4; y++) {
                    for (int x = left; x < left + 4; x++) masks.set(ValueLayout.JAVA_BYTE, (long) b * grid * grid + y * grid + x, (byte) 1);
                }
            }
        }
    }

    private static void fail(String message) {
        System.err.println("QuickStart FAILED: " + message);
        System.exit(1);
    }
}
