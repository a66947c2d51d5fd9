package org.ibot4j.api;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.ref.Cleaner;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.ibot4j.api.image.EvalTransform;
import org.ibot4j.api.image.ImageReading;
import org.ibot4j.api.image.Pixels;
import org.ibot4j.api.io.AtomicFiles;
import org.ibot4j.api.io.BackboneMetadata;
import org.ibot4j.api.io.CheckpointFiles;
import org.ibot4j.api.io.FoundationLayouts;
import org.ibot4j.api.io.NamedTensor;
import org.ibot4j.api.io.PthReader;
import org.ibot4j.api.io.SpecialFiles;
import org.ibot4j.api.io.WeightExchange;
import org.ibot4j.bindings.Ibot4jC;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One backbone for inference: images in, CLS features out (and patch tokens on request), with the
 * preprocessing of {@code ibot4j embed} (the checkpoint's normalisation, shorter side resized, centre
 * crop; {@link EvalTransform}). It holds the backbone's weights only: no heads, no second network, no
 * optimiser state.
 *
 * <p>Thread-safe: any number of threads may call the {@code embed} methods of one encoder at once (as
 * with an ONNX Runtime session); each call prepares its own images and runs its own native forward
 * pass over the shared, read-only weights, so a call's result does not depend on what other threads
 * do. {@link #close()} waits for calls in flight (every batch of an {@code embed} call) and frees the
 * native memory; calls that start after it throw {@link IllegalStateException}.
 */
public final class Encoder implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Encoder.class);
    private static final Cleaner CLEANER = Cleaner.create();

    /**
     * How to open an encoder.
     *
     * @param network   the teacher (the evaluated network, default) or the student
     * @param device    where the backbone runs
     * @param bf16      bf16 autocast of the forward pass (CUDA, or a CPU with native bf16)
     * @param threads   LibTorch intra-op threads, process-wide; 0 keeps the current setting; at most the CPUs this
     *                  process may use ({@link ProcessLimits#maxThreads()})
     * @param imageSize side of the centre crop in pixels, a multiple of the patch size; 0 for the
     *                  checkpoint's training size (other sizes interpolate the positions as in training)
     * @param numHeads  attention heads of a {@code .pth} / {@code .safetensors} file, which its weights
     *                  cannot tell; 0 for a named architecture's, Meta's DINOv3 periods, or {@code embed_dim / 64}
     *                  (every published ViT); ignored for ibot4j checkpoints
     * @param batchSize images per native forward pass
     * @param arch      the architecture of a {@code .pth} / {@code .safetensors} file by {@link Arch} name (e.g.
     *                  vit_small_patch16_dinov3), checked against the file; null to infer it from the file's
     *                  names and shapes; ignored for ibot4j checkpoints
     */
    public record Options(Network network, Device device, boolean bf16, int threads, int imageSize, int numHeads, int batchSize,
                          String arch) {
        /** Checks the values. */
        public Options {
            if (network == null || device == null) throw new IllegalArgumentException("network and device must be given");
            if (threads < 0) throw new IllegalArgumentException("threads must be >= 0 (0 keeps LibTorch's setting), got " + threads);
            ProcessLimits.checkThreads(threads, "threads");
            if (imageSize < 0) throw new IllegalArgumentException("imageSize must be >= 0 (0: the checkpoint's), got " + imageSize);
            if (numHeads < 0) throw new IllegalArgumentException("numHeads must be >= 0 (0: embed_dim / 64), got " + numHeads);
            if (batchSize < 1) throw new IllegalArgumentException("batchSize must be >= 1, got " + batchSize);
            if (arch != null) Arch.of(arch);
        }

        /** Teacher, CPU, fp32, LibTorch's threads, the checkpoint's size, batches of 64 (as {@code ibot4j embed}). */
        public static Options defaults() {
            return new Options(Network.TEACHER, Device.CPU, false, 0, 0, 0, 64, null);
        }

        public Options network(Network value) { return new Options(value, device, bf16, threads, imageSize, numHeads, batchSize, arch); }
        public Options device(Device value) { return new Options(network, value, bf16, threads, imageSize, numHeads, batchSize, arch); }
        public Options bf16(boolean value) { return new Options(network, device, value, threads, imageSize, numHeads, batchSize, arch); }
        public Options threads(int value) { return new Options(network, device, bf16, value, imageSize, numHeads, batchSize, arch); }
        public Options imageSize(int value) { return new Options(network, device, bf16, threads, value, numHeads, batchSize, arch); }
        public Options numHeads(int value) { return new Options(network, device, bf16, threads, imageSize, value, batchSize, arch); }
        public Options batchSize(int value) { return new Options(network, device, bf16, threads, imageSize, numHeads, value, arch); }
        public Options arch(String value) { return new Options(network, device, bf16, threads, imageSize, numHeads, batchSize, value); }
    }

    /**
     * Features of a list of images.
     *
     * @param cls     {@code [n][embed_dim]}: the CLS token after the final norm
     * @param patches {@code [n][patches][embed_dim]}: the patch tokens after the final norm, row by row
     */
    public record Tokens(float[][] cls, float[][][] patches) {}

    private final IbotConfig config;
    private final EvalTransform transform;
    private final Path source;
    private final int batchSize;
    private final MemorySegment handle;
    // Calls hold the read lock, close the write lock: close never frees weights a forward pass reads.
    private final ReentrantReadWriteLock lifecycle = new ReentrantReadWriteLock();
    private final AtomicBoolean closed;
    private final Cleaner.Cleanable leakWarning;

    private Encoder(IbotConfig config, EvalTransform transform, Path source, int batchSize, MemorySegment handle) {
        this.config = config;
        this.transform = transform;
        this.source = source;
        this.batchSize = batchSize;
        this.handle = handle;
        AtomicBoolean closedFlag = new AtomicBoolean();
        this.closed = closedFlag;
        String description = "Encoder(" + source + ")";
        this.leakWarning = CLEANER.register(this, () -> {
            if (!closedFlag.get()) LOG.warn("{} was never closed; its native memory leaked. Use try-with-resources.", description);
        });
    }

    /** {@link #open(Path, Options)} with {@link Options#defaults()}. */
    public static Encoder open(Path weights) throws IOException {
        return open(weights, Options.defaults());
    }

    /**
     * Opens the backbone of {@code weights}: an ibot4j checkpoint, a run folder (its newest readable
     * checkpoint), an official {@code main_ibot.py} checkpoint, or a backbone-only {@code .pth} /
     * {@code .safetensors} with timm's names ({@code module.} and {@code backbone.} prefixes allowed): the
     * official iBOT ViT, or a DINOv2 / DINOv3 backbone in timm's or Meta's names, its architecture read from
     * the file or named by {@link Options#arch()} (docs/interop.md). ibot4j checkpoints, and files ibot4j
     * exported, bring their run's normalisation and heads; other files get ImageNet's normalisation and
     * heads as {@link Options#numHeads()} says, with a warning.
     *
     * @throws IllegalArgumentException for a path that is none of these, naming what it is
     * @throws IOException              when the file cannot be read
     * @throws Ibot4jException          when the native library refuses the weights (damaged, other architecture)
     */
    public static Encoder open(Path weights, Options options) throws IOException {
        if (!Files.exists(weights)) {
            throw new IllegalArgumentException(weights + " does not exist (expected an ibot4j checkpoint or run folder, an official iBOT "
                    + "checkpoint, or a backbone .pth / .safetensors)");
        }
        Path file = weights;
        if (Files.isDirectory(weights)) {
            file = CheckpointFiles.newestReadable(weights).orElseThrow(() -> new IllegalArgumentException(weights
                    + " is a folder without a readable checkpoint (looked for ckpt-<iteration>.ibot4j in it and in its checkpoints/)"));
            LOG.info("{} is a run folder: using its newest readable checkpoint {}", weights, file.getFileName());
        }
        NativeLibrary.load();
        return CheckpointFiles.isLibTorchArchive(file) ? fromCheckpoint(file, options) : fromWeightsFile(file, options);
    }

    private static Encoder fromCheckpoint(Path file, Options o) {
        IbotModel.verifyIntegrity(file);
        IbotConfig config = runtime(IbotModel.readConfig(file).toBuilder(), o);
        int size = imageSize(config, o);
        Encoder encoder = create(config, EvalTransform.forCheckpoint(file, size), file, o.batchSize());
        try (Arena scratch = Arena.ofConfined()) {
            MemorySegment err = NativeErrors.allocate(scratch);
            NativeErrors.check(Ibot4jC.ibot4j_encoder_load(encoder.handle, scratch.allocateFrom(file.toString()), o.network().code, err,
                    NativeErrors.BUFFER_BYTES), err, "encoder_load(" + file + ")");
            return encoder;
        } catch (RuntimeException e) {
            encoder.close();
            throw e;
        }
    }

    private static Encoder fromWeightsFile(Path file, Options o) throws IOException {
        Map<String, PthReader.FloatTensor> tensors = BackboneWeights.read(file, o.network());
        Optional<BackboneMetadata> stored = BackboneMetadata.read(file);
        IbotConfigBuilder inferred = o.arch() != null ? BackboneWeights.configOf(o.arch(), tensors) : BackboneWeights.inferConfig(tensors, o.numHeads());
        if (o.arch() != null && o.numHeads() > 0) inferred.numHeads(o.numHeads());
        if (stored.isPresent() && o.numHeads() == 0 && o.arch() == null) {
            inferred.numHeads(stored.get().config().numHeads()).imgSize(stored.get().config().imgSize());
        }
        IbotConfig config = runtime(inferred, o);
        int size = imageSize(config, o);
        EvalTransform transform = stored.isPresent() && stored.get().mean() != null
                ? new EvalTransform(size, EvalTransform.channels(stored.get().mean()), EvalTransform.channels(stored.get().std()))
                : EvalTransform.imageNet(size);
        if (stored.isEmpty() || stored.get().mean() == null) {
            // Heads are a guess only where nothing named them: a named architecture's sizes and Meta's DINOv3 periods tell them.
            boolean headsGuessed = stored.isEmpty() && o.numHeads() == 0 && o.arch() == null
                    && FoundationLayouts.archName(config).isEmpty() && !tensors.containsKey("rope.periods");
            LOG.warn("{} does not say how it was trained (no ibot4j metadata{}): assumed {}ImageNet's mean and std{}; if it was trained "
                    + "otherwise, its features will be off (export it again with ibot4j, or pass Encoder.Options.numHeads / embed --num_heads)",
                    file, stored.isPresent() ? " with a normalisation" : "",
                    headsGuessed ? config.numHeads() + " attention heads (embed_dim / 64), " : "",
                    stored.isPresent() ? "" : " and " + config.imgSize() + " px" + (config.family() == Family.DINOV3 ? "" : " from its position embedding"));
        }
        Encoder encoder = create(config, transform, file, o.batchSize());
        try {
            BackboneWeights.write(encoder, tensors, file);
            return encoder;
        } catch (RuntimeException e) {
            encoder.close();
            throw e;
        }
    }

    private static IbotConfig runtime(IbotConfigBuilder stored, Options o) {
        return stored.numThreads(o.threads()).device(o.device()).bf16Autocast(o.bf16()).forceBf16(false).dropPathRate(0).build();
    }

    private static int imageSize(IbotConfig config, Options o) {
        int size = o.imageSize() > 0 ? o.imageSize() : config.imgSize();
        if (size % config.patchSize() != 0) {
            throw new IllegalArgumentException("imageSize " + size + " is not a multiple of the patch size " + config.patchSize());
        }
        return size;
    }

    private static Encoder create(IbotConfig config, EvalTransform transform, Path source, int batchSize) {
        try (Arena scratch = Arena.ofConfined()) {
            MemorySegment err = NativeErrors.allocate(scratch);
            MemorySegment out = scratch.allocate(ValueLayout.ADDRESS);
            NativeErrors.check(Ibot4jC.ibot4j_encoder_create(ConfigStruct.allocate(config, scratch), out, err, NativeErrors.BUFFER_BYTES),
                    err, "encoder_create");
            return new Encoder(config, transform, source, batchSize, out.get(ValueLayout.ADDRESS, 0));
        }
    }

    /**
     * An encoder of {@code config}'s architecture whose weights are still to be written tensor by tensor
     * ({@link #writeTensor}); for tests and loaders in this package.
     */
    static Encoder withoutWeights(IbotConfig config) {
        return create(config, EvalTransform.imageNet(config.imgSize()), Path.of("(weights written by the caller)"), 64);
    }

    /** The backbone's tensor names (timm's). */
    List<String> tensorNames() {
        String joined = IbotModel.sizedString("encoder_tensor_names",
                (buf, len, needed, e) -> Ibot4jC.ibot4j_encoder_tensor_names(handle, buf, len, needed, e, NativeErrors.BUFFER_BYTES));
        return List.of(joined.split("\n"));
    }

    /** Copies one tensor into the backbone; only while the encoder is being opened (no call can run yet). */
    void writeTensor(String name, long[] shape, float[] data) {
        try (Arena scratch = Arena.ofConfined()) {
            MemorySegment err = NativeErrors.allocate(scratch);
            NativeErrors.check(Ibot4jC.ibot4j_encoder_write(handle, scratch.allocateFrom(name), scratch.allocateFrom(ValueLayout.JAVA_FLOAT, data),
                    scratch.allocateFrom(ValueLayout.JAVA_LONG, shape), shape.length, err, NativeErrors.BUFFER_BYTES), err,
                    "encoder_write(" + name + ")");
        }
    }

    /** Width of the features ({@code embed_dim}). */
    public int dim() {
        return config.embedDim();
    }

    /** Side of the square view the backbone sees, in pixels. */
    public int imageSize() {
        return transform.size();
    }

    /** Patch tokens per image at {@link #imageSize()}. */
    public int patchCount() {
        int grid = transform.size() / config.patchSize();
        return grid * grid;
    }

    /** The weights file this encoder was opened from (a run folder's chosen checkpoint). */
    public Path source() {
        return source;
    }

    /** The preprocessing: resize, centre crop, normalisation. */
    public EvalTransform transform() {
        return transform;
    }

    /** The architecture and runtime settings of the backbone (head fields describe the source checkpoint, if any). */
    public IbotConfig config() {
        return config;
    }

    /** CLS features {@code [n][dim()]} of decoded images. */
    public float[][] embed(List<BufferedImage> images) {
        return embedPixels(images.stream().map(ImageReading::pixels).toList());
    }

    /** CLS features of encoded images (JPEG, PNG, BMP, GIF bytes, decoded with ImageIO). */
    public float[][] embedEncoded(List<byte[]> images) throws IOException {
        List<Pixels> decoded = new ArrayList<>(images.size());
        for (int i = 0; i < images.size(); i++) decoded.add(ImageReading.decode(images.get(i), "image " + i));
        return embedPixels(decoded);
    }

    /** CLS features of image files (decoded with ImageIO); a file that cannot be read fails the call, naming it. */
    public float[][] embedFiles(List<Path> files) throws IOException {
        List<Pixels> decoded = new ArrayList<>(files.size());
        for (Path f : files) decoded.add(ImageReading.decode(f));
        return embedPixels(decoded);
    }

    /** CLS features of images already as float planes in [0, 1]. */
    public float[][] embedPixels(List<Pixels> images) {
        return run(images, false).cls();
    }

    /** CLS features and patch tokens of images (dense use: segmentation, retrieval by region). */
    public Tokens tokens(List<BufferedImage> images) {
        return run(images.stream().map(ImageReading::pixels).toList(), true);
    }

    /**
     * The forward pass on images already prepared: {@code images} float32 {@code [n, C, height, width]},
     * normalised; {@code outCls} {@code [n, dim()]} and {@code outPatch} {@code [n, N, dim()]} (either may
     * be {@link MemorySegment#NULL}). Thread-safe like every call.
     */
    public void forward(MemorySegment images, int n, int height, int width, MemorySegment outCls, MemorySegment outPatch) {
        if (n <= 0) throw new IllegalArgumentException("forward needs at least one image, got n = " + n);
        if (height % config.patchSize() != 0 || width % config.patchSize() != 0) {
            throw new IllegalArgumentException(height + " x " + width + " pixels is not a whole number of " + config.patchSize() + "-pixel patches");
        }
        long d = config.embedDim(), patches = (long) (height / config.patchSize()) * (width / config.patchSize());
        Segments.requireFloats("images", images, (long) n * config.inChans() * height * width);
        if (!isNull(outCls)) Segments.requireWritableFloats("out_cls", outCls, n * d);
        if (!isNull(outPatch)) Segments.requireWritableFloats("out_patch", outPatch, n * patches * d);
        var lock = openForCall();
        try {
            forwardOpen(images, n, height, width, outCls, outPatch);
        } finally {
            lock.unlock();
        }
    }

    /** Holds the encoder open for one call (every batch of it): {@link #close()} waits until it is unlocked. */
    private ReentrantReadWriteLock.ReadLock openForCall() {
        var lock = lifecycle.readLock();
        lock.lock();
        if (closed.get()) {
            lock.unlock();
            throw new IllegalStateException("this Encoder is closed");
        }
        return lock;
    }

    /** The native forward pass; the caller holds {@link #openForCall()}. */
    private void forwardOpen(MemorySegment images, int n, int height, int width, MemorySegment outCls, MemorySegment outPatch) {
        try (Arena scratch = Arena.ofConfined()) {
            MemorySegment err = NativeErrors.allocate(scratch);
            NativeErrors.check(Ibot4jC.ibot4j_encoder_forward(handle, images, n, height, width, nullToNull(outCls), nullToNull(outPatch), err,
                    NativeErrors.BUFFER_BYTES), err, "encoder_forward");
        }
    }

    /**
     * Writes the backbone as a TorchScript module made by LibTorch: {@code forward(x)} takes normalised
     * float32 {@code [N, 3, H, W]} (H, W multiples of the patch size) and returns the CLS features
     * {@code [N, dim()]} this encoder computes, positions interpolated the official iBOT way. Loads with
     * {@code torch.jit.load} in Python and {@code torch::jit::load} in LibTorch. The file is replaced atomically.
     */
    public void exportTorchScript(Path out) throws IOException {
        AtomicFiles.writeToPath(out, tmp -> {
            var lock = openForCall();
            try (Arena scratch = Arena.ofConfined()) {
                MemorySegment err = NativeErrors.allocate(scratch);
                NativeErrors.check(Ibot4jC.ibot4j_encoder_export_torchscript(handle, scratch.allocateFrom(tmp.toString()), err,
                        NativeErrors.BUFFER_BYTES), err, "encoder_export_torchscript(" + out + ")");
            } finally {
                lock.unlock();
            }
        });
    }

    /**
     * Rewrites the backbone of a {@code .pth} / {@code .safetensors} file (timm's or Meta's names, see
     * {@link #open(Path, Options)}) as a file with timm's names in {@code format}: the backbone is opened first,
     * so a file that does not fit its architecture is refused before anything is written. DINOv3's RoPE periods
     * are left out, as timm saves none. For ibot4j checkpoints use {@link org.ibot4j.api.io.WeightExchange#export}.
     */
    public static void exportWeights(Path weights, Options options, WeightExchange.Format format, Path out) throws IOException {
        NativeLibrary.load();
        Map<String, PthReader.FloatTensor> tensors = BackboneWeights.read(weights, options.network());
        List<NamedTensor> timm = new ArrayList<>();
        String metadata;
        try (Encoder encoder = fromWeightsFile(weights, options)) {
            for (String name : encoder.tensorNames()) {
                var t = tensors.get(name);
                if (t != null && !name.equals("rope.periods")) timm.add(new NamedTensor(name, t.shape(), t.data()));
            }
            // The architecture goes with the weights (heads included); the normalisation only where the file said it.
            Optional<BackboneMetadata> stored = BackboneMetadata.read(weights);
            metadata = new BackboneMetadata(encoder.config(), stored.map(BackboneMetadata::mean).orElse(null),
                    stored.map(BackboneMetadata::std).orElse(null)).toJson();
        }
        WeightExchange.write(timm, format, out, "ibot4j backbone (timm names)", metadata);
    }

    /**
     * Runs a TorchScript module file the way any LibTorch program would ({@code torch::jit::load}, then
     * {@code forward(images)}): for checking an exported module without Python.
     *
     * @param module a TorchScript file, e.g. from {@link #exportTorchScript}
     * @param images normalised float32 {@code [n, 3, height, width]}, row-major
     * @return the module's 2-D output, one row per image
     */
    public static float[][] runTorchScript(Path module, float[] images, int n, int height, int width) throws IOException {
        SpecialFiles.requireReadable(module, "TorchScript module");
        if ((long) n * 3 * height * width != images.length) {
            throw new IllegalArgumentException(images.length + " floats are not " + n + " images of 3 x " + height + " x " + width);
        }
        NativeLibrary.load();
        try (Arena scratch = Arena.ofConfined()) {
            MemorySegment in = scratch.allocateFrom(ValueLayout.JAVA_FLOAT, images), out = scratch.allocate(ValueLayout.JAVA_FLOAT, images.length);
            MemorySegment rows = scratch.allocate(ValueLayout.JAVA_LONG), cols = scratch.allocate(ValueLayout.JAVA_LONG);
            MemorySegment err = NativeErrors.allocate(scratch);
            NativeErrors.check(Ibot4jC.ibot4j_torchscript_forward(scratch.allocateFrom(module.toString()), in, n, height, width, out,
                    images.length, rows, cols, err, NativeErrors.BUFFER_BYTES), err, "torchscript_forward(" + module + ")");
            int r = (int) rows.get(ValueLayout.JAVA_LONG, 0), c = (int) cols.get(ValueLayout.JAVA_LONG, 0);
            float[][] result = new float[r][];
            for (int i = 0; i < r; i++) result[i] = out.asSlice((long) i * c * Float.BYTES, (long) c * Float.BYTES).toArray(ValueLayout.JAVA_FLOAT);
            return result;
        }
    }

    private Tokens run(List<Pixels> images, boolean withPatches) {
        if (images.isEmpty()) throw new IllegalArgumentException("no images to embed");
        int n = images.size(), size = transform.size(), d = config.embedDim(), patches = patchCount();
        float[][] cls = new float[n][];
        float[][][] patchTokens = withPatches ? new float[n][][] : null;
        int batch = Math.min(n, batchSize);
        var lock = openForCall();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment pixels = arena.allocate(ValueLayout.JAVA_FLOAT, (long) batch * transform.floatsPerImage());
            MemorySegment outCls = arena.allocate(ValueLayout.JAVA_FLOAT, (long) batch * d);
            MemorySegment outPatch = withPatches ? arena.allocate(ValueLayout.JAVA_FLOAT, (long) batch * patches * d) : MemorySegment.NULL;
            for (int start = 0; start < n; start += batch) {
                int count = Math.min(batch, n - start);
                for (int i = 0; i < count; i++) transform.write(images.get(start + i), pixels, i * transform.floatsPerImage());
                forwardOpen(pixels.asSlice(0, count * transform.floatsPerImage() * Float.BYTES), count, size, size,
                        outCls.asSlice(0, (long) count * d * Float.BYTES),
                        withPatches ? outPatch.asSlice(0, (long) count * patches * d * Float.BYTES) : MemorySegment.NULL);
                for (int i = 0; i < count; i++) {
                    cls[start + i] = outCls.asSlice((long) i * d * Float.BYTES, (long) d * Float.BYTES).toArray(ValueLayout.JAVA_FLOAT);
                    if (withPatches) {
                        float[][] rows = new float[patches][];
                        for (int p = 0; p < patches; p++) {
                            rows[p] = outPatch.asSlice(((long) i * patches + p) * d * Float.BYTES, (long) d * Float.BYTES).toArray(ValueLayout.JAVA_FLOAT);
                        }
                        patchTokens[start + i] = rows;
                    }
                }
            }
        } finally {
            lock.unlock();
        }
        return new Tokens(cls, patchTokens);
    }

    /** Calls holding the encoder open now (for tests of {@link #close()}). */
    int inFlight() {
        return lifecycle.getReadLockCount();
    }

    /** Waits for calls in flight, then frees the native backbone; idempotent. */
    @Override
    public void close() {
        var lock = lifecycle.writeLock();
        lock.lock();
        try {
            if (closed.getAndSet(true)) return;
            try (Arena scratch = Arena.ofConfined()) {
                MemorySegment err = NativeErrors.allocate(scratch);
                NativeErrors.check(Ibot4jC.ibot4j_encoder_free(handle, err, NativeErrors.BUFFER_BYTES), err, "encoder_free");
            } finally {
                leakWarning.clean();
            }
        } finally {
            lock.unlock();
        }
    }

    private static boolean isNull(MemorySegment s) {
        return s == null || s.equals(MemorySegment.NULL);
    }

    private static MemorySegment nullToNull(MemorySegment s) {
        return s == null ? MemorySegment.NULL : s;
    }
}
