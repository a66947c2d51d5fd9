package org.ibot4j.examples;

import ai.djl.Model;
import ai.djl.inference.Predictor;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.translate.NoopTranslator;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.ibot4j.api.Encoder;
import org.ibot4j.api.IbotConfig;
import org.ibot4j.api.IbotModel;
import org.ibot4j.api.image.Pixels;
import org.ibot4j.trainer.data.IdxDataset;

/**
 * DJL serves ibot4j's TorchScript export: {@code prepare DIR} (ibot4j) makes a small ViT, exports its
 * teacher backbone with {@link Encoder#exportTorchScript} to {@code DIR/encoder.pt} and writes N
 * Fashion-MNIST test images, prepared as the Encoder prepares them, with the Encoder's features;
 * {@code djl DIR} (another JVM, DJL only) loads {@code encoder.pt} with DJL's PyTorch engine, embeds the
 * same images and prints {@code djl embedding: N images, max |diff| vs Encoder: D}, exiting non-zero
 * when D exceeds 1e-5.
 *
 * <p>Two processes because DJL brings its own LibTorch (2.7.1, from the {@code pytorch-native-cpu} jar on
 * the classpath, so nothing is downloaded) and ibot4j loads the LibTorch it was built against: two
 * LibTorch versions in one process would share their libraries' names.
 */
public final class DjlEmbedding {
    private static final int IMAGES = 8;

    private DjlEmbedding() {}

    public static void main(String[] args) throws Exception {
        if (args.length != 2 || !(args[0].equals("prepare") || args[0].equals("djl"))) {
            System.err.println("usage: DjlEmbedding prepare|djl DIR");
            System.exit(2);
        }
        Path dir = Files.createDirectories(Path.of(args[1]));
        if (args[0].equals("prepare")) prepare(dir);
        else System.exit(djl(dir));
    }

    private static void prepare(Path dir) throws IOException {
        IbotConfig config = IbotConfig.builder().imgSize(32).patchSize(4).inChans(3).embedDim(64).depth(2).numHeads(4).outDim(128)
                .patchOutDim(128).hiddenDim(128).bottleneckDim(32).seed(3).numThreads(2).build();
        Path checkpoint = dir.resolve("model.ibot4j");
        try (IbotModel model = IbotModel.create(config)) {
            model.save(checkpoint, "{}");
        }
        String dataDir = System.getenv().getOrDefault("IBOT4J_FASHION_MNIST", "/usr/share/datasets/fashion-mnist");
        IdxDataset data = IdxDataset.read(Path.of(dataDir), "t10k");
        List<Pixels> images = new ArrayList<>();
        for (int i = 0; i < IMAGES; i++) {
            float[] grey = new float[data.rows() * data.cols()];
            for (int p = 0; p < grey.length; p++) grey[p] = (data.images()[i][p] & 0xff) / 255f;
            images.add(new Pixels(data.cols(), data.rows(), new float[][] {grey, grey.clone(), grey.clone()}));
        }
        try (Encoder encoder = Encoder.open(checkpoint, Encoder.Options.defaults().threads(2)); Arena arena = Arena.ofConfined();
                DataOutputStream out = new DataOutputStream(Files.newOutputStream(dir.resolve("reference.bin")))) {
            encoder.exportTorchScript(dir.resolve("encoder.pt"));
            float[][] features = encoder.embedPixels(images);
            long per = encoder.transform().floatsPerImage();
            MemorySegment x = arena.allocate(ValueLayout.JAVA_FLOAT, per * IMAGES);
            for (int i = 0; i < IMAGES; i++) encoder.transform().write(images.get(i), x, i * per);
            out.writeInt(IMAGES);
            out.writeInt(encoder.imageSize());
            out.writeInt(encoder.dim());
            for (float v : x.toArray(ValueLayout.JAVA_FLOAT)) out.writeFloat(v);
            for (float[] row : features) for (float v : row) out.writeFloat(v);
        }
        System.out.println("prepared " + dir + ": encoder.pt (TorchScript export) and " + IMAGES + " images with the Encoder's features");
    }

    private static int djl(Path dir) throws Exception {
        System.setProperty("ai.djl.offline", "true");  // LibTorch comes from the pytorch-native-cpu jar, never from the network
        int n, size, dim;
        float[] images, expected;
        try (DataInputStream in = new DataInputStream(Files.newInputStream(dir.resolve("reference.bin")))) {
            n = in.readInt();
            size = in.readInt();
            dim = in.readInt();
            images = new float[n * 3 * size * size];
            for (int i = 0; i < images.length; i++) images[i] = in.readFloat();
            expected = new float[n * dim];
            for (int i = 0; i < expected.length; i++) expected[i] = in.readFloat();
        }
        try (Model model = Model.newInstance("encoder", "PyTorch")) {
            model.load(dir, "encoder");  // dir/encoder.pt
            try (Predictor<NDList, NDList> predictor = model.newPredictor(new NoopTranslator());
                    NDManager manager = NDManager.newBaseManager("PyTorch")) {
                NDList out = predictor.predict(new NDList(manager.create(images, new Shape(n, 3, size, size))));
                float[] features = out.singletonOrThrow().toFloatArray();
                if (features.length != expected.length) {
                    System.err.println("djl embedding: " + features.length + " values, expected " + expected.length);
                    return 1;
                }
                double worst = 0;
                for (int i = 0; i < features.length; i++) worst = Math.max(worst, Math.abs(features[i] - expected[i]));
                System.out.printf("djl embedding: %d images, max |diff| vs Encoder: %s (DJL %s, PyTorch engine %s)%n", n, (float) worst,
                        ai.djl.engine.Engine.getDjlVersion(), ai.djl.engine.Engine.getEngine("PyTorch").getVersion());
                return worst <= 1e-5 ? 0 : 1;
            }
        }
    }
}
