package org.ibot4j.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.ref.Cleaner;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.ibot4j.api.io.SpecialFiles;
import org.ibot4j.api.io.ZipIntegrity;
import org.ibot4j.bindings.Ibot4jC;
import org.ibot4j.bindings.ibot4j_batch;
import org.ibot4j.bindings.ibot4j_step_params;
import org.ibot4j.bindings.ibot4j_step_result;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A student/teacher iBOT model held by the native library. Confined to the thread that created it;
 * close it to free its native memory (a model that is never closed is reported, not freed, by a
 * Cleaner: native memory is released only by {@link #close()}).
 */
public final class IbotModel implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(IbotModel.class);
    private static final Cleaner CLEANER = Cleaner.create();
    private static final ObjectMapper JSON = new ObjectMapper();

    private final IbotConfig config;
    private final Thread owner;
    private final Arena arena;
    private final MemorySegment handle;
    private final MemorySegment err;
    // Reused by every step, so a step allocates nothing on the Java side.
    private final MemorySegment batchStruct;
    private final MemorySegment paramsStruct;
    private final MemorySegment resultStruct;
    private final AtomicBoolean closed;
    private final Cleaner.Cleanable leakWarning;

    private IbotModel(IbotConfig config, Arena arena, MemorySegment handle, MemorySegment err) {
        this.config = config;
        this.owner = Thread.currentThread();
        this.arena = arena;
        this.handle = handle;
        this.err = err;
        this.batchStruct = ibot4j_batch.allocate(arena);
        this.paramsStruct = ibot4j_step_params.allocate(arena);
        this.resultStruct = ibot4j_step_result.allocate(arena);
        AtomicBoolean closedFlag = new AtomicBoolean();
        this.closed = closedFlag;
        String description = "IbotModel(embed_dim=" + config.embedDim() + ", depth=" + config.depth() + ")";
        this.leakWarning = CLEANER.register(this, () -> {
            if (!closedFlag.get()) {
                LOG.warn("{} was never closed; its native memory leaked. Use try-with-resources.", description);
            }
        });
    }

    /** Builds student and teacher from {@code config}, initialised from its seed. */
    public static IbotModel create(IbotConfig config) {
        NativeLibrary.load();
        Arena arena = Arena.ofConfined();
        try {
            MemorySegment err = NativeErrors.allocate(arena);
            MemorySegment c = ConfigStruct.allocate(config, arena);
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            NativeErrors.check(Ibot4jC.ibot4j_model_create(c, out, err, NativeErrors.BUFFER_BYTES), err, "model_create");
            return new IbotModel(config, arena, out.get(ValueLayout.ADDRESS, 0), err);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /**
     * The configuration this model was created with.
     *
     * @return the configuration
     */
    public IbotConfig config() {
        return config;
    }

    /**
     * Trains data-parallel in {@code group} from now on: rank 0's weights and centres are broadcast,
     * and every step averages gradients, centre updates and the reported losses over the ranks. Every
     * rank must call it with a model of the same configuration; close this model before the group.
     *
     * @param group the process group this process joined
     * @throws Ibot4jException (DISTRIBUTED) when a rank fails or the models differ
     */
    public void join(ProcessGroup group) {
        ensureUsable();
        NativeErrors.check(Ibot4jC.ibot4j_model_join(handle, group.handle(), err, NativeErrors.BUFFER_BYTES), err, "model_join");
    }

    /** One iBOT optimisation step; returns with {@code finite == false} and nothing updated on a non-finite loss. */
    public StepResult trainStep(TrainBatch batch, StepParams params) {
        fillStepArguments(batch, params);
        NativeErrors.check(Ibot4jC.ibot4j_train_step(handle, batchStruct, paramsStruct, resultStruct, err,
                NativeErrors.BUFFER_BYTES), err, "train_step");
        return readResult();
    }

    /**
     * Everything {@link #trainStep} does at the boundary (checks, struct filling, the downcall, the
     * native side wrapping the batch as tensors, the result read back) without the step itself: for
     * measuring the boundary's share of a step. Nothing is trained.
     */
    public StepResult trainStepDryRun(TrainBatch batch, StepParams params) {
        fillStepArguments(batch, params);
        NativeErrors.check(Ibot4jC.ibot4j_train_step_dry_run(handle, batchStruct, paramsStruct, resultStruct, err,
                NativeErrors.BUFFER_BYTES), err, "train_step_dry_run");
        return readResult();
    }

    private void fillStepArguments(TrainBatch batch, StepParams params) {
        ensureUsable();
        batch.validate(config);
        ibot4j_batch.global_crops(batchStruct, batch.globalCrops());
        ibot4j_batch.local_crops(batchStruct, batch.nLocal() > 0 ? batch.localCrops() : MemorySegment.NULL);
        ibot4j_batch.masks(batchStruct, batch.masks());
        ibot4j_batch.batch_size(batchStruct, batch.batchSize());
        ibot4j_batch.n_global(batchStruct, batch.nGlobal());
        ibot4j_batch.n_local(batchStruct, batch.nLocal());
        ibot4j_batch.global_size(batchStruct, batch.globalSize());
        ibot4j_batch.local_size(batchStruct, batch.localSize());
        ibot4j_step_params.lr(paramsStruct, params.lr());
        ibot4j_step_params.weight_decay(paramsStruct, params.weightDecay());
        ibot4j_step_params.teacher_momentum(paramsStruct, params.teacherMomentum());
        ibot4j_step_params.teacher_temp(paramsStruct, params.teacherTemp());
        ibot4j_step_params.teacher_patch_temp(paramsStruct, params.teacherPatchTemp());
        ibot4j_step_params.freeze_last_layer(paramsStruct, params.freezeLastLayer() ? 1 : 0);
        ibot4j_step_params.clip_grad(paramsStruct, params.clipGrad());
        ibot4j_step_params.freeze_backbone(paramsStruct, params.freezeBackbone() ? 1 : 0);
        ibot4j_step_params.gram_refresh(paramsStruct, params.gramRefresh() ? 1 : 0);
    }

    /**
     * Backbone features after the final norm for {@code n} images {@code [n, C, height, width]} (float32).
     * {@code masks} (student only) may be {@link MemorySegment#NULL}; {@code outCls} receives
     * {@code [n, embed_dim]} and {@code outPatch} {@code [n, N, embed_dim]}; either may be NULL.
     */
    public void embed(Network which, MemorySegment images, int n, int height, int width, MemorySegment masks,
            MemorySegment outCls, MemorySegment outPatch) {
        ensureUsable();
        long c = config.inChans(), d = config.embedDim();
        Segments.requireFloats("images", images, n * c * height * width);
        long patches = (long) (height / config.patchSize()) * (width / config.patchSize());
        if (!isNull(masks)) Segments.requireBytes("masks", masks, n * patches);
        if (!isNull(outCls)) Segments.requireWritableFloats("out_cls", outCls, n * d);
        if (!isNull(outPatch)) Segments.requireWritableFloats("out_patch", outPatch, n * patches * d);
        NativeErrors.check(Ibot4jC.ibot4j_embed(handle, which.code, images, n, height, width, nullToNull(masks),
                nullToNull(outCls), nullToNull(outPatch), err, NativeErrors.BUFFER_BYTES), err, "embed");
    }

    /** CLS features {@code [n][embed_dim]} of the teacher (or student) for images in a native segment. */
    public float[][] embedCls(Network which, MemorySegment images, int n, int height, int width) {
        try (Arena scratch = Arena.ofConfined()) {
            MemorySegment out = scratch.allocate(ValueLayout.JAVA_FLOAT, (long) n * config.embedDim());
            embed(which, images, n, height, width, MemorySegment.NULL, out, MemorySegment.NULL);
            float[][] rows = new float[n][];
            for (int i = 0; i < n; i++) {
                rows[i] = out.asSlice((long) i * config.embedDim() * Float.BYTES, (long) config.embedDim() * Float.BYTES)
                        .toArray(ValueLayout.JAVA_FLOAT);
            }
            return rows;
        }
    }

    /**
     * The last block's self-attention probabilities of the [CLS] query over every token, per head, as
     * official {@code get_last_selfattention(images)[:, :, 0, :]}: {@code out [n, num_heads, 1 + N]}
     * (float32) for images {@code [n, C, height, width]}, N = (height / p) * (width / p). Index 0 is the
     * [CLS] token itself, then the patches row by row; each row sums to 1. Image sizes other than the
     * model's interpolate the positional embedding, as {@link #embed} does.
     *
     * @param which  the network whose backbone runs
     * @param images float32 {@code [n, C, height, width]}, normalised as in training
     * @param n      number of images
     * @param height pixels
     * @param width  pixels
     * @param out    float32 {@code [n, num_heads, 1 + N]}, written
     */
    public void attention(Network which, MemorySegment images, int n, int height, int width, MemorySegment out) {
        ensureUsable();
        if (n <= 0) throw new IllegalArgumentException("attention needs at least one image, got n = " + n);
        Segments.requireFloats("images", images, (long) n * config.inChans() * height * width);
        Segments.requireWritableFloats("out", out, (long) n * config.numHeads() * (1 + patchCount(height, width)));
        NativeErrors.check(Ibot4jC.ibot4j_last_attention(handle, which.code, images, n, height, width, out, err,
                NativeErrors.BUFFER_BYTES), err, "last_attention");
    }

    /**
     * {@link #attention(Network, MemorySegment, int, int, int, MemorySegment)} into Java arrays.
     *
     * @return {@code [n][num_heads][1 + N]}, the [CLS] column first
     */
    public float[][][] attention(Network which, MemorySegment images, int n, int height, int width) {
        ensureUsable();
        if (n <= 0) throw new IllegalArgumentException("attention needs at least one image, got n = " + n);
        Segments.requireFloats("images", images, (long) n * config.inChans() * height * width);
        long count = (long) n * config.numHeads() * (1 + patchCount(height, width));
        if (count > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(count + " attention values are more than Java arrays hold; use the MemorySegment form");
        }
        int heads = config.numHeads(), tokens = 1 + (int) patchCount(height, width);
        try (Arena scratch = Arena.ofConfined()) {
            MemorySegment out = scratch.allocate(ValueLayout.JAVA_FLOAT, (long) n * heads * tokens);
            attention(which, images, n, height, width, out);
            float[][][] rows = new float[n][heads][];
            for (int i = 0; i < n; i++) {
                for (int h = 0; h < heads; h++) {
                    long offset = ((long) i * heads + h) * tokens * Float.BYTES;
                    rows[i][h] = out.asSlice(offset, (long) tokens * Float.BYTES).toArray(ValueLayout.JAVA_FLOAT);
                }
            }
            return rows;
        }
    }

    private long patchCount(int height, int width) {
        if (height < config.patchSize() || width < config.patchSize()) {
            throw new IllegalArgumentException("images of " + height + "x" + width + " pixels are smaller than one "
                    + config.patchSize() + "x" + config.patchSize() + " patch");
        }
        return (long) (height / config.patchSize()) * (width / config.patchSize());
    }

    /**
     * Frozen features for linear probes, the official {@code get_intermediate_layers} semantics: no
     * grad, no drop-path, no mask, positional embeddings interpolated for other sizes. {@code outCls}
     * receives {@code [n, nLastBlocks * embed_dim]}, the CLS tokens of the last {@code nLastBlocks}
     * blocks (1 to depth), each through the final norm, concatenated from the earliest to the last;
     * {@code outPatchMean} receives {@code [n, embed_dim]}, the mean of the last block's patch tokens,
     * through the final norm when {@code patchMeanNormed} (official {@code avgpool_patchtokens 2}) or
     * the raw block output otherwise ({@code avgpool_patchtokens 1}). Either output may be NULL.
     *
     * @param which the network
     * @param images {@code [n, C, height, width]} float32
     * @param n number of images
     * @param height image height in pixels
     * @param width image width in pixels
     * @param nLastBlocks how many of the last blocks give their CLS token
     * @param patchMeanNormed whether the patch mean is taken after the final norm
     * @param outCls the concatenated CLS tokens, or NULL
     * @param outPatchMean the patch-token mean, or NULL
     */
    public void intermediateFeatures(Network which, MemorySegment images, int n, int height, int width, int nLastBlocks,
            boolean patchMeanNormed, MemorySegment outCls, MemorySegment outPatchMean) {
        ensureUsable();
        if (nLastBlocks < 1 || nLastBlocks > config.depth()) {
            throw new IllegalArgumentException("nLastBlocks must be in 1.." + config.depth() + " (the model's depth), got " + nLastBlocks);
        }
        long c = config.inChans(), d = config.embedDim();
        Segments.requireFloats("images", images, n * c * height * width);
        if (!isNull(outCls)) Segments.requireWritableFloats("out_cls", outCls, (long) n * nLastBlocks * d);
        if (!isNull(outPatchMean)) Segments.requireWritableFloats("out_patch_mean", outPatchMean, n * d);
        NativeErrors.check(Ibot4jC.ibot4j_intermediate_features(handle, which.code, images, n, height, width, nLastBlocks,
                patchMeanNormed ? 1 : 0, nullToNull(outCls), nullToNull(outPatchMean), err, NativeErrors.BUFFER_BYTES), err,
                "intermediate_features");
    }

    /**
     * Head logits of {@code which} for backbone tokens {@code [n, numTokens, embed_dim]} (CLS first):
     * {@code outCls [n, out_dim]}, {@code outPatch [n, numTokens - 1, patch dim]} (may be NULL).
     */
    public void head(Network which, MemorySegment tokens, int n, int numTokens, MemorySegment outCls, MemorySegment outPatch) {
        ensureUsable();
        Segments.requireFloats("tokens", tokens, (long) n * numTokens * config.embedDim());
        Segments.requireWritableFloats("out_cls", outCls, (long) n * config.outDim());
        // Config validation makes both heads' patch logits this wide (out_dim whenever either side shares).
        int patchDim = config.effectivePatchOutDim();
        if (!isNull(outPatch)) Segments.requireWritableFloats("out_patch", outPatch, (long) n * (numTokens - 1) * patchDim);
        NativeErrors.check(Ibot4jC.ibot4j_head(handle, which.code, tokens, n, numTokens, outCls, nullToNull(outPatch),
                err, NativeErrors.BUFFER_BYTES), err, "head");
    }

    /**
     * The iBOT loss for given head outputs, computed as {@code train_step} computes it, with the
     * model's current centres: student CLS {@code [(G+L)*B, K]}, student patch {@code [G*B, N, K']},
     * teacher CLS {@code [G*B, K]}, teacher patch {@code [G*B, N, K']}, masks uint8 {@code [G*B, N]}.
     * With {@code updateCenter} the centres then move as after a step. Returns loss, CLS and patch terms.
     */
    public StepResult loss(MemorySegment studentCls, MemorySegment studentPatch, MemorySegment teacherCls,
            MemorySegment teacherPatch, MemorySegment masks, int batchSize, int nGlobal, int nLocal, int numPatches,
            double teacherTemp, double teacherPatchTemp, boolean updateCenter) {
        ensureUsable();
        long k = config.outDim(), kp = config.effectivePatchOutDim(), gb = (long) nGlobal * batchSize;
        Segments.requireFloats("student_cls", studentCls, (nGlobal + nLocal) * (long) batchSize * k);
        Segments.requireFloats("student_patch", studentPatch, gb * numPatches * kp);
        Segments.requireFloats("teacher_cls", teacherCls, gb * k);
        Segments.requireFloats("teacher_patch", teacherPatch, gb * numPatches * kp);
        Segments.requireBytes("masks", masks, gb * numPatches);
        NativeErrors.check(Ibot4jC.ibot4j_loss(handle, studentCls, studentPatch, teacherCls, teacherPatch, masks, batchSize,
                nGlobal, nLocal, numPatches, teacherTemp, teacherPatchTemp, updateCenter ? 1 : 0, resultStruct, err,
                NativeErrors.BUFFER_BYTES), err, "loss");
        return readResult();
    }

    private StepResult readResult() {
        return new StepResult(ibot4j_step_result.loss(resultStruct), ibot4j_step_result.cls_loss(resultStruct),
                ibot4j_step_result.patch_loss(resultStruct), ibot4j_step_result.grad_norm(resultStruct),
                ibot4j_step_result.finite(resultStruct) != 0, ibot4j_step_result.step(resultStruct),
                ibot4j_step_result.koleo_loss(resultStruct), ibot4j_step_result.teacher_cls_entropy(resultStruct),
                ibot4j_step_result.teacher_patch_entropy(resultStruct), ibot4j_step_result.prototypes_used(resultStruct),
                ibot4j_step_result.effective_rank(resultStruct), ibot4j_step_result.gram_loss(resultStruct),
                ibot4j_step_result.distill_loss(resultStruct));
    }

    /**
     * DINOv3's Gram anchoring loss as a train step adds it (before its weight): per image, the Gram matrices of
     * the L2-normalised patch features of {@code student} and {@code teacher} (each {@code [n, tokens, dim]},
     * row-major), their mean squared difference over every entry.
     *
     * @param gradient when not null, receives d loss / d student ({@code n * tokens * dim} floats)
     * @return the loss
     */
    public static double gramLoss(float[] student, float[] teacher, int n, int tokens, int dim, float[] gradient) {
        long size = (long) n * tokens * dim;
        if (n <= 0 || tokens <= 0 || dim <= 0 || student.length != size || teacher.length != size
                || (gradient != null && gradient.length != size)) {
            throw new IllegalArgumentException("student, teacher (and gradient) must each hold n x tokens x dim = " + n + " x " + tokens
                    + " x " + dim + " floats, got " + student.length + " and " + teacher.length);
        }
        NativeLibrary.load();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocateFrom(ValueLayout.JAVA_FLOAT, student), t = arena.allocateFrom(ValueLayout.JAVA_FLOAT, teacher);
            MemorySegment g = gradient == null ? MemorySegment.NULL : arena.allocate(ValueLayout.JAVA_FLOAT, size);
            MemorySegment loss = arena.allocate(ValueLayout.JAVA_DOUBLE), e = NativeErrors.allocate(arena);
            NativeErrors.check(Ibot4jC.ibot4j_gram_loss(s, t, n, tokens, dim, loss, g, e, NativeErrors.BUFFER_BYTES), e, "gram_loss");
            if (gradient != null) MemorySegment.copy(g, ValueLayout.JAVA_FLOAT, 0, gradient, 0, gradient.length);
            return loss.get(ValueLayout.JAVA_DOUBLE, 0);
        }
    }

    /** Names of the model's state tensors: {@code student.*}, {@code teacher.*}, {@code loss.center}, {@code loss.center2}. */
    public List<String> tensorNames() {
        ensureUsable();
        String joined = sizedString("tensor_names",
                (buf, len, needed, e) -> Ibot4jC.ibot4j_tensor_names(handle, buf, len, needed, e, NativeErrors.BUFFER_BYTES));
        return List.of(joined.split("\n"));
    }

    /**
     * The shape of a named tensor.
     *
     * @param name as listed by {@link #tensorNames()}, or {@code grad.student.*}
     * @return its sizes
     * @throws Ibot4jException for an unknown name
     */
    public long[] tensorShape(String name) {
        ensureUsable();
        try (Arena scratch = Arena.ofConfined()) {
            int maxDims = 8;
            MemorySegment dims = scratch.allocate(ValueLayout.JAVA_LONG, maxDims);
            MemorySegment ndim = scratch.allocate(ValueLayout.JAVA_INT);
            NativeErrors.check(Ibot4jC.ibot4j_tensor_shape(handle, scratch.allocateFrom(name), dims, maxDims, ndim, err,
                    NativeErrors.BUFFER_BYTES), err, "tensor_shape(" + name + ")");
            return Arrays.copyOf(dims.toArray(ValueLayout.JAVA_LONG), ndim.get(ValueLayout.JAVA_INT, 0));
        }
    }

    /** A copy of a named tensor, flattened row-major. */
    public float[] readTensor(String name) {
        ensureUsable();
        long numel = Arrays.stream(tensorShape(name)).reduce(1, Math::multiplyExact);
        try (Arena scratch = Arena.ofConfined()) {
            MemorySegment out = scratch.allocate(ValueLayout.JAVA_FLOAT, numel);
            NativeErrors.check(Ibot4jC.ibot4j_tensor_read(handle, scratch.allocateFrom(name), out, numel, err,
                    NativeErrors.BUFFER_BYTES), err, "tensor_read(" + name + ")");
            return out.toArray(ValueLayout.JAVA_FLOAT);
        }
    }

    /** Overwrites a named tensor with {@code values} (flattened row-major, same element count). */
    public void writeTensor(String name, float[] values) {
        ensureUsable();
        try (Arena scratch = Arena.ofConfined()) {
            MemorySegment data = scratch.allocateFrom(ValueLayout.JAVA_FLOAT, values);
            NativeErrors.check(Ibot4jC.ibot4j_tensor_write(handle, scratch.allocateFrom(name), data, values.length, err,
                    NativeErrors.BUFFER_BYTES), err, "tensor_write(" + name + ")");
        }
    }

    /**
     * Writes the full training state, this model's config and the caller's {@code metadata} to
     * {@code path} (not atomic: write to a temporary name and rename).
     */
    public void save(Path path, String metadata) {
        ensureUsable();
        ObjectNode envelope = JSON.createObjectNode();
        envelope.set("config", config.toJson());
        envelope.put("metadata", metadata == null ? "" : metadata);
        try (Arena scratch = Arena.ofConfined()) {
            NativeErrors.check(Ibot4jC.ibot4j_checkpoint_save(handle, scratch.allocateFrom(path.toString()),
                    scratch.allocateFrom(envelope.toString()), err, NativeErrors.BUFFER_BYTES), err,
                    "checkpoint_save(" + path + ")");
        }
    }

    /** Creates a model with the config stored in a checkpoint and loads the checkpoint into it. */
    public static IbotModel open(Path path, int numThreads) {
        verifyIntegrity(path);
        IbotConfig stored = readConfig(path).toBuilder().numThreads(numThreads).build();
        IbotModel model = create(stored);
        try {
            model.loadVerified(path);
            return model;
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
    }

    /** The config a checkpoint was saved with. */
    public static IbotConfig readConfig(Path path) {
        return IbotConfig.fromJson(envelope(path).get("config"));
    }

    /** Restores state saved by a model of the same architecture; a bad file leaves this model unchanged. */
    public void load(Path path) {
        ensureUsable();
        verifyIntegrity(path);
        loadVerified(path);
    }

    private void loadVerified(Path path) {
        ensureUsable();
        try (Arena scratch = Arena.ofConfined()) {
            NativeErrors.check(Ibot4jC.ibot4j_checkpoint_load(handle, scratch.allocateFrom(path.toString()), err,
                    NativeErrors.BUFFER_BYTES), err, "checkpoint_load(" + path + ")");
        }
    }

    /**
     * Checks every byte of a checkpoint against the CRC-32s it records, before anything is loaded from
     * it ({@link #load} and {@link #open} do this themselves).
     *
     * @param path a checkpoint file
     * @throws Ibot4jException (IO) naming the file and the damaged entry
     */
    public static void verifyIntegrity(Path path) {
        try {
            SpecialFiles.requireReadable(path, "checkpoint");  // a FIFO would block the reader forever
            ZipIntegrity.verify(path);
        } catch (IOException e) {
            throw new Ibot4jException(Ibot4jException.Category.IO, "checkpoint_verify(" + path + ")", e.getMessage());
        }
    }

    /** The caller's metadata string stored in a checkpoint, without loading it into a model. */
    public static String readMetadata(Path path) {
        return envelope(path).get("metadata").asText();
    }

    private static JsonNode envelope(Path path) {
        NativeLibrary.load();
        try {
            SpecialFiles.requireReadable(path, "checkpoint");
        } catch (IOException e) {
            throw new Ibot4jException(Ibot4jException.Category.IO, "checkpoint_metadata(" + path + ")", e.getMessage());
        }
        String text;
        try (Arena scratch = Arena.ofConfined()) {
            MemorySegment file = scratch.allocateFrom(path.toString());
            text = sizedString("checkpoint_metadata(" + path + ")",
                    (buf, len, needed, e) -> Ibot4jC.ibot4j_checkpoint_metadata(file, buf, len, needed, e, NativeErrors.BUFFER_BYTES));
        }
        try {
            JsonNode node = JSON.readTree(text);
            if (node == null || !node.has("config")) throw new IllegalStateException("no config");
            return node;
        } catch (JsonProcessingException | IllegalStateException e) {
            throw new Ibot4jException(Ibot4jException.Category.IO, "checkpoint_metadata(" + path + ")",
                    "the checkpoint's metadata is not the JSON envelope ibot4j writes: " + e.getMessage());
        }
    }

    /** A native call that writes a string into (buf, len) and its full size into *needed. */
    interface SizedCall {
        int call(MemorySegment buf, long len, MemorySegment needed, MemorySegment err);
    }

    /** Asks for the size first, then for the string, with its own error buffer (usable without a model). */
    static String sizedString(String operation, SizedCall call) {
        try (Arena scratch = Arena.ofConfined()) {
            MemorySegment err = NativeErrors.allocate(scratch);
            MemorySegment needed = scratch.allocate(ValueLayout.JAVA_LONG);
            NativeErrors.check(call.call(MemorySegment.NULL, 0, needed, err), err, operation);
            long size = needed.get(ValueLayout.JAVA_LONG, 0);
            MemorySegment buf = scratch.allocate(size);
            NativeErrors.check(call.call(buf, size, needed, err), err, operation);
            return buf.getString(0);
        }
    }

    /**
     * Whether {@link #close()} was called.
     *
     * @return true once closed
     */
    public boolean isClosed() {
        return closed.get();
    }

    /** Frees the native model; later calls on this object throw {@link IllegalStateException}. */
    @Override
    public void close() {
        if (closed.get()) return;
        requireOwner();
        closed.set(true);
        try {
            NativeErrors.check(Ibot4jC.ibot4j_model_free(handle, err, NativeErrors.BUFFER_BYTES), err, "model_free");
        } finally {
            arena.close();
            leakWarning.clean();
        }
    }

    private void ensureUsable() {
        if (closed.get()) throw new IllegalStateException("this IbotModel is closed");
        requireOwner();
    }

    private void requireOwner() {
        if (Thread.currentThread() != owner) {
            throw new IllegalStateException("this IbotModel belongs to thread '" + owner.getName()
                    + "' and was used from '" + Thread.currentThread().getName() + "'; a model is confined to its creating thread");
        }
    }

    private static boolean isNull(MemorySegment s) {
        return s == null || s.equals(MemorySegment.NULL);
    }

    private static MemorySegment nullToNull(MemorySegment s) {
        return s == null ? MemorySegment.NULL : s;
    }
}
