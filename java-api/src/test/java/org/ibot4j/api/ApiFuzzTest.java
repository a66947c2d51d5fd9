package org.ibot4j.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Seeded random calls through the Java API into the C API: sizes -1/0/odd/huge, masks 0/1/2/255,
 * NaN/Inf data, closed, short, read-only and zero-length segments, unknown and 10 KB tensor names,
 * garbage files, calls after close and from other threads. Every case must end in a Java exception
 * or a call that changes nothing: the model stays as it was and a normal step still works. Each case
 * is logged (fuzz-cases.log in the test's folder) before it runs, so a crash names it.
 * {@code -Dibot4j.fuzz.calls=N} (ci/chaos: 10,000).
 */
class ApiFuzzTest {
    private static final int CALLS = Integer.getInteger("ibot4j.fuzz.calls", 1500);

    @Test
    void randomBadCallsNeverCrashAndNeverChangeTheModel(@TempDir Path dir) throws Exception {
        IbotConfig config = TinyModels.config(9);
        SplittableRandom random = new SplittableRandom(2026);
        int rejected = 0, harmless = 0;
        try (Arena arena = Arena.ofConfined(); IbotModel model = IbotModel.create(config); IbotModel closed = IbotModel.create(config);
                PrintWriter log = new PrintWriter(Files.newBufferedWriter(dir.resolve("fuzz-cases.log")), true)) {
            closed.close();
            TrainBatch good = TinyModels.fixedBatch(arena, config);
            List<float[]> before = state(model);
            Path garbage = Files.write(dir.resolve("garbage.ibot4j"), bytes(random, 2000));
            for (int i = 0; i < CALLS; i++) {
                int kind = random.nextInt(14);
                log.println(i + " kind " + kind);
                try (Arena scratch = Arena.ofConfined()) {
                    call(kind, random, model, closed, good, config, scratch, garbage, dir);
                    harmless++;
                } catch (IllegalArgumentException | IllegalStateException | IndexOutOfBoundsException | UnsupportedOperationException
                        | Ibot4jException e) {
                    rejected++;
                }
                if (i % 250 == 249) assertUnchanged(before, state(model), i);
            }
            assertUnchanged(before, state(model), CALLS);
            assertThat(model.trainStep(good, TinyModels.params(0.99)).finite()).isTrue();
        }
        System.out.printf("API fuzz: %d calls, %d rejected with a Java exception, %d changed nothing%n", CALLS, rejected, harmless);
        assertThat(rejected).isGreaterThan(CALLS / 2);
    }

    private static void call(int kind, SplittableRandom r, IbotModel model, IbotModel closed, TrainBatch good, IbotConfig c, Arena arena,
            Path garbage, Path dir) throws Exception {
        switch (kind) {
            case 0 -> model.trainStep(new TrainBatch(segment(r, arena, good.globalCrops().byteSize()), good.localCrops(), good.masks(),
                    wrongSize(r, good.batchSize()), size(r, 2), size(r, 2), size(r, 32), size(r, 16)), TinyModels.params(0.99));
            case 1 -> {  // right sizes, hostile values: NaN/Inf pixels and masks of 0/1/2/255 give a non-finite step, which changes nothing
                TrainBatch b = TrainBatch.allocate(arena, c, good.batchSize(), 2, 2, 32, 16);
                b.globalCrops().fill((byte) 0x7f);  // 0x7f7f7f7f: a huge float; some become Inf in the network
                b.globalCrops().setAtIndex(ValueLayout.JAVA_FLOAT, r.nextInt(100), r.nextBoolean() ? Float.NaN : Float.POSITIVE_INFINITY);
                b.masks().fill((byte) new int[] {0, 1, 2, 255}[r.nextInt(4)]);
                StepResult s = model.trainStep(b, TinyModels.params(0.99));
                if (s.finite()) throw new AssertionError("a step on NaN/Inf pixels reported a finite loss: " + s);
            }
            case 2 -> model.embed(r.nextBoolean() ? Network.TEACHER : Network.STUDENT, segment(r, arena, 3 * 32 * 32 * 4), size(r, 1), size(r, 32),
                    size(r, 32), r.nextBoolean() ? MemorySegment.NULL : segment(r, arena, 64), segment(r, arena, 64 * 4), MemorySegment.NULL);
            case 3 -> model.head(Network.TEACHER, segment(r, arena, 65 * 64 * 4), size(r, 1), size(r, 65), segment(r, arena, 256 * 4),
                    r.nextBoolean() ? MemorySegment.NULL : segment(r, arena, 64 * 256 * 4));
            case 4 -> model.loss(segment(r, arena, 16 * 256 * 4), segment(r, arena, 16 * 64 * 256 * 4), segment(r, arena, 16 * 256 * 4),
                    segment(r, arena, 16 * 64 * 256 * 4), segment(r, arena, 16 * 64), size(r, 8), size(r, 2), size(r, 2), size(r, 64), 0.04, 0.04,
                    false);
            case 5 -> model.readTensor(name(r));
            case 6 -> model.writeTensor(name(r), new float[r.nextInt(3)]);  // never the right size for a real name
            case 7 -> model.tensorShape(name(r));
            case 8 -> model.load(r.nextBoolean() ? garbage : dir.resolve(name(r).replace('/', '_') + ".missing"));
            case 9 -> closed.trainStep(good, TinyModels.params(0.99));
            case 10 -> {  // from another thread: the model is confined to its creator
                try {
                    CompletableFuture.runAsync(() -> model.readTensor("loss.center")).join();
                } catch (CompletionException e) {
                    throw (RuntimeException) e.getCause();
                }
            }
            case 11 -> model.intermediateFeatures(r.nextBoolean() ? Network.TEACHER : Network.STUDENT, segment(r, arena, 3 * 32 * 32 * 4),
                    size(r, 1), size(r, 32), size(r, 32), r.nextInt(-1, 4), r.nextBoolean(), segment(r, arena, 2 * 64 * 4),
                    r.nextBoolean() ? MemorySegment.NULL : segment(r, arena, 64 * 4));
            case 12 -> {
                Network which = r.nextBoolean() ? Network.TEACHER : Network.STUDENT;
                MemorySegment images = segment(r, arena, 3 * 32 * 32 * 4);
                int n = size(r, 1), h = size(r, 32), w = size(r, 32);
                if (r.nextBoolean()) model.attention(which, images, n, h, w);
                else model.attention(which, images, n, h, w, segment(r, arena, 4 * 65 * 4));
            }
            default -> model.trainStep(good, new StepParams(r.nextBoolean() ? Double.NaN : -1, 0.04, 0.99, 0.04, 0.04, false, 3.0));
        }
    }

    /** A segment that is closed, read-only, on the heap, NULL, empty, too short, too long or (rarely) right. */
    private static MemorySegment segment(SplittableRandom r, Arena arena, long bytes) {
        return switch (r.nextInt(8)) {
            case 0 -> {
                Arena gone = Arena.ofConfined();
                MemorySegment s = gone.allocate(bytes);
                gone.close();
                yield s;
            }
            case 1 -> arena.allocate(bytes).asReadOnly();
            case 2 -> MemorySegment.ofArray(new float[(int) Math.min(bytes / 4, 1 << 20)]);
            case 3 -> MemorySegment.NULL;
            case 4 -> arena.allocate(0);
            case 5 -> arena.allocate(Math.max(1, bytes - 1 - r.nextInt((int) Math.min(bytes, 1000))));
            case 6 -> arena.allocate(bytes + 4 * (1 + r.nextInt(64)));
            default -> arena.allocate(bytes);
        };
    }

    /** -1, 0, odd, huge, or the right value. */
    private static int size(SplittableRandom r, int right) {
        return switch (r.nextInt(6)) {
            case 0 -> -1;
            case 1 -> 0;
            case 2 -> right + 1 + r.nextInt(7);
            case 3 -> Integer.MAX_VALUE - r.nextInt(3);
            case 4 -> 1 << (20 + r.nextInt(11));
            default -> right;
        };
    }

    /** -1, 0, odd or huge: never the right value, so the call cannot be a valid step. */
    private static int wrongSize(SplittableRandom r, int right) {
        int v;
        do {
            v = size(r, right);
        } while (v == right);
        return v;
    }

    private static String name(SplittableRandom r) {
        return switch (r.nextInt(5)) {
            case 0 -> "";
            case 1 -> "x".repeat(10_000);
            case 2 -> "student.no_such_" + r.nextInt(1000);
            case 3 -> "grad.teacher.backbone.norm.weight";
            default -> new String(bytes(r, 1 + r.nextInt(40)), StandardCharsets.ISO_8859_1).replace('\0', '?');
        };
    }

    private static byte[] bytes(SplittableRandom r, int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) b[i] = (byte) r.nextInt(256);
        return b;
    }

    private static void assertUnchanged(List<float[]> before, List<float[]> after, int afterCase) {
        assertThat(after).hasSameSizeAs(before);
        for (int t = 0; t < before.size(); t++) {
            assertThat(Arrays.equals(before.get(t), after.get(t))).as("tensor %d unchanged after case %d", t, afterCase).isTrue();
        }
    }

    private static List<float[]> state(IbotModel model) {
        List<float[]> out = new ArrayList<>();
        for (String name : model.tensorNames()) out.add(model.readTensor(name));
        return out;
    }
}
