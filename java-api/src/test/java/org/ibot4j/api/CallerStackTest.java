package org.ibot4j.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Native compute must not depend on the calling thread's stack. LibTorch's parallel code keeps 4 KiB
 * per intra-op thread on the caller's stack (fbgemm's radix sort), so 256 threads need about 1 MiB:
 * before the shim ran calls on its own compute thread, this step died with SIGSEGV on a thread of
 * 256 KiB (a common pool-thread size) and on the JVM's default 1 MiB at 255 threads or more.
 */
class CallerStackTest {
    private static final long SMALL_STACK = 256 * 1024;

    @Test
    void manyIntraOpThreadsStepOnASmallCallerStack() throws Exception {
        IbotConfig config = TinyModels.config(3).toBuilder().numThreads(256).build();
        AtomicReference<Object> outcome = new AtomicReference<>();
        Thread caller = new Thread(null, () -> {
            try (Arena arena = Arena.ofConfined(); IbotModel model = IbotModel.create(config)) {
                TrainBatch batch = TinyModels.fixedBatch(arena, config);
                StepResult first = model.trainStep(batch, TinyModels.params(0.99));
                StepResult second = model.trainStep(batch, TinyModels.params(0.99));
                outcome.set(new StepResult[] {first, second});
            } catch (Throwable t) {
                outcome.set(t);
            }
        }, "small-stack-caller", SMALL_STACK);
        caller.start();
        caller.join();
        assertThat(outcome.get()).as("the steps' results, not an exception").isInstanceOf(StepResult[].class);
        StepResult[] steps = (StepResult[]) outcome.get();
        assertThat(steps[0].finite()).isTrue();
        assertThat(steps[1].step()).isEqualTo(2);
    }

    @Test
    void callsFromManyThreadsOnOneModelSeeTheirOwnComputeThread() throws Exception {
        // A model confined to its creating thread, created and stepped on fresh threads one after the other:
        // each caller's compute thread ends with the caller (no growth in native threads over many callers).
        IbotConfig config = TinyModels.config(4);
        long before = nativeThreads();
        for (int i = 0; i < 20; i++) {
            Thread t = new Thread(null, () -> {
                try (IbotModel model = IbotModel.create(config)) {
                    assertThat(model.config().depth()).isEqualTo(2);
                }
            }, "caller-" + i, SMALL_STACK);
            t.start();
            t.join();
        }
        Thread.sleep(200);
        assertThat(nativeThreads() - before).as("threads left behind by 20 finished callers").isLessThan(5);
    }

    /** Threads of this process as the kernel counts them (Java and native alike). */
    private static long nativeThreads() throws IOException {
        try (var tasks = Files.list(Path.of("/proc/self/task"))) {
            return tasks.count();
        }
    }
}
