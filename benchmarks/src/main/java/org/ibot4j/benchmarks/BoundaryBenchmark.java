package org.ibot4j.benchmarks;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.lang.foreign.ValueLayout;
import org.ibot4j.api.Encoder;
import org.ibot4j.api.IbotConfig;
import org.ibot4j.api.IbotModel;
import org.ibot4j.api.NativeLibrary;
import org.ibot4j.api.StepParams;
import org.ibot4j.api.StepResult;
import org.ibot4j.api.TrainBatch;
import org.ibot4j.bindings.Ibot4jC;
import org.ibot4j.trainer.data.IdxDataset;
import org.ibot4j.trainer.data.IdxSource;
import org.ibot4j.trainer.run.PretrainSetup;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The cost of crossing into the native library: an empty downcall, and a tiny-config train_step's
 * whole argument path (config check, struct filling, downcall, the batch wrapped as tensors natively,
 * the result read back) with the step itself left out. ci/bench sets these against one tiny step's time.
 * And an Encoder call on one image of one 16x16 patch through a 32-wide, one-block ViT: the call path an Encoder
 * serving single images pays (hand-off to the compute thread and back, arguments, outputs), around a compute of
 * a few microseconds.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class BoundaryBenchmark {
    private Arena arena;
    private IbotModel model;
    private TrainBatch batch;
    private final StepParams params = new StepParams(1e-4, 0.04, 0.996, 0.04, 0.04, false, 3.0);
    private Encoder encoder;
    private MemorySegment image;
    private MemorySegment cls;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        NativeLibrary.load();
        IdxSource data = new IdxSource(IdxDataset.read(Path.of(
                System.getProperty("ibot4j.fashion", "/usr/share/datasets/fashion-mnist")), "t10k").head(256));
        PretrainSetup tiny = StepBench.setup("tiny", data, 64, 1, "cpu", false);
        arena = Arena.ofConfined();
        model = IbotModel.create(tiny.model());
        var o = tiny.augmentation().options();
        batch = TrainBatch.allocate(arena, tiny.model(), 64, o.nGlobal(), o.nLocal(), o.globalSize(), o.localSize());
        Path small = Files.createTempFile("ibot4j-boundary", ".ibot4j");
        try (IbotModel one = IbotModel.create(IbotConfig.builder().imgSize(16).patchSize(16).embedDim(32).depth(1).numHeads(1)
                .numThreads(1).build())) {
            one.save(small, "{}");
            encoder = Encoder.open(small, Encoder.Options.defaults().threads(1).imageSize(16));
        } finally {
            Files.delete(small);
        }
        image = arena.allocate(ValueLayout.JAVA_FLOAT, 3 * 16 * 16);
        cls = arena.allocate(ValueLayout.JAVA_FLOAT, 32);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        model.close();
        encoder.close();
        arena.close();
    }

    @Benchmark
    public int emptyDowncall() {
        return Ibot4jC.ibot4j_noop(MemorySegment.NULL, 0);
    }

    @Benchmark
    public StepResult trainStepArguments() {
        return model.trainStepDryRun(batch, params);
    }

    @Benchmark
    public MemorySegment encoderOneTinyImage() {
        encoder.forward(image, 1, 16, 16, cls, MemorySegment.NULL);
        return cls;
    }
}
