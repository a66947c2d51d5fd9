package org.ibot4j.trainer.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.assertj.core.api.Assertions;
import org.ibot4j.api.IbotModel;
import org.ibot4j.trainer.run.checkpoints.TeacherDifference;
import org.ibot4j.trainer.data.IdxDatasetTest;
import org.ibot4j.trainer.run.reporting.MetricsLog;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Data-parallel pretraining on c10d's Gloo backend over loopback, 2 processes x 1 thread: the same
 * model as one process with the whole batch, exact resume, a killed rank, and misconfiguration.
 */
class DistributedTest {
    /** A tiny run; drop-path 0 so that both ways of splitting the batch compute the same thing. {@code extra}: flag, value pairs over it. */
    static List<String> tiny(Path output, int batch, int maxSteps, String... extra) {
        Map<String, String> options = new LinkedHashMap<>();
        String[] base = {"--data", IdxDatasetTest.FASHION.toString(), "--output", output.toString(), "--arch", "vit_tiny", "--embed_dim", "32",
                "--depth", "1", "--num_heads", "2", "--out_dim", "64", "--patch_out_dim", "64", "--head_hidden_dim", "64",
                "--head_bottleneck_dim", "16", "--local_crops_number", "2", "--batch_size", String.valueOf(batch), "--subset", "64",
                "--epochs", "2", "--warmup_epochs", "1", "--warmup_teacher_temp_epochs", "1", "--drop_path", "0", "--lr", "0.05",
                "--save_every", "2", "--max_steps", String.valueOf(maxSteps), "--threads", "1", "--num_workers", "1"};
        for (int i = 0; i < base.length; i += 2) options.put(base[i], base[i + 1]);
        for (int i = 0; i < extra.length; i += 2) options.put(extra[i], extra[i + 1]);
        List<String> args = new ArrayList<>(List.of("pretrain"));
        options.forEach((k, v) -> {
            args.add(k);
            if (!v.isEmpty()) args.add(v);
        });
        return args;
    }

    static CliTest.Result run(List<String> args) {
        return CliTest.run(args.toArray(String[]::new));
    }

    static float maxTeacherDifference(Path a, Path b) {
        return (float) TeacherDifference.of(a, b).max();
    }

    @Test
    void twoRanksWithHalfTheBatchTrainTheModelOneRankTrainsWithAllOfItAndResumeExactly(@TempDir Path dir) throws IOException {
        CliTest.Result single = run(tiny(dir.resolve("single"), 8, 6));
        assertThat(single.code()).as(single.err()).isZero();
        CliTest.Result pair = run(tiny(dir.resolve("pair"), 4, 6, "--nproc_per_node", "2"));
        assertThat(pair.code()).as(pair.out()).isZero();
        assertThat(pair.out()).contains("[rank 0] ").contains("[rank 1] ").contains("global batch 8");

        // Same images, crops and masks per step; only the summation order differs (each rank sums 4
        // images, then Gloo adds two partial gradients): float32 rounding, amplified a little by 6 AdamW
        // steps at lr 0.05 * 8/256. Measured: about 1e-7; the bound leaves room and is far below the
        // ~1e-3 a single differing image makes.
        Path singleLast = dir.resolve("single/checkpoints/ckpt-00000006.ibot4j"), pairLast = dir.resolve("pair/checkpoints/ckpt-00000006.ibot4j");
        float difference = maxTeacherDifference(singleLast, pairLast);
        System.out.println("largest teacher weight difference, 2 ranks x 4 vs 1 rank x 8 after 6 steps: " + difference);
        assertThat(difference).isLessThan(2e-5f);
        List<Map<String, String>> a = MetricsLog.readCsv(dir.resolve("single/metrics.csv")), b = MetricsLog.readCsv(dir.resolve("pair/metrics.csv"));
        assertThat(b).hasSize(6);
        for (int i = 0; i < 6; i++) {
            assertThat(Double.parseDouble(b.get(i).get("loss"))).as("loss at %d", i)
                    .isCloseTo(Double.parseDouble(a.get(i).get("loss")), Assertions.within(1e-4));
        }

        // Stopped after 2 steps and resumed on 2 ranks: the same bits as the uninterrupted pair
        // (Gloo's sum of two ranks is one addition, so the collectives are deterministic).
        assertThat(run(tiny(dir.resolve("resumed"), 4, 2, "--nproc_per_node", "2")).code()).isZero();
        CliTest.Result rest = run(tiny(dir.resolve("resumed"), 4, 6, "--nproc_per_node", "2"));
        assertThat(rest.code()).as(rest.out()).isZero();
        assertThat(rest.out()).contains("resuming");
        assertThat(maxTeacherDifference(pairLast, dir.resolve("resumed/checkpoints/ckpt-00000006.ibot4j"))).isZero();

        // The pair's run resumed by one process with the whole batch: allowed (same global batch), and said so.
        CliTest.Result alone = run(tiny(dir.resolve("pair"), 8, 8));
        assertThat(alone.code()).as(alone.err()).isZero();
        assertThat(alone.out()).contains("resuming");
    }

    @Test
    void aKilledRankStopsTheOthersWithItsNumberAndTheLastCheckpointStaysLoadable(@TempDir Path dir) throws Exception {
        int port = freePort();
        List<String> args = tiny(dir, 4, 400, "--epochs", "50", "--warmup_teacher_temp_epochs", "1", "--dist_timeout", "20");
        List<Process> ranks = new ArrayList<>();
        try {
            killOneRank(args, port, dir, ranks);
        } finally {
            ranks.forEach(Process::destroyForcibly);
        }
    }

    private static void killOneRank(List<String> args, int port, Path dir, List<Process> ranks) throws Exception {
        for (int rank = 0; rank < 2; rank++) ranks.add(worker(args, rank, 2, port, dir.resolve("rank" + rank + ".log")));
        Path checkpoints = dir.resolve("checkpoints");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (!(Files.isDirectory(checkpoints) && Files.list(checkpoints).anyMatch(p -> p.toString().endsWith(".ibot4j")))) {
            assertThat(System.nanoTime()).as("a first checkpoint within 120 s").isLessThan(deadline);
            Thread.sleep(100);
        }
        ranks.get(1).destroyForcibly();  // SIGKILL
        long killed = System.nanoTime();
        assertThat(ranks.get(0).waitFor(20 + 15, TimeUnit.SECONDS)).as("rank 0 ends within the timeout and a few seconds").isTrue();
        double seconds = (System.nanoTime() - killed) / 1e9;
        String log = Files.readString(dir.resolve("rank0.log"), StandardCharsets.UTF_8);
        assertThat(ranks.get(0).exitValue()).as(log).isNotZero();
        assertThat(log).contains("lost rank 1");
        assertThat(seconds).isLessThan(35);
        Path last = Files.list(checkpoints).filter(p -> p.toString().endsWith(".ibot4j")).sorted().reduce((x, y) -> y).orElseThrow();
        try (IbotModel model = IbotModel.open(last, 1)) {
            assertThat(model.tensorNames()).isNotEmpty();
        }
    }

    @Test
    void misconfigurationGetsOneSentencePerProblemBeforeTraining(@TempDir Path dir) throws Exception {
        List<String> args = tiny(dir.resolve("run"), 4, 2, "--dist_timeout", "20");
        int port = freePort();
        String noRank = output(worker(args, Map.of("WORLD_SIZE", "2", "MASTER_ADDR", "127.0.0.1", "MASTER_PORT", String.valueOf(port)),
                dir.resolve("a.log")), dir.resolve("a.log"));
        assertThat(noRank).contains("RANK is not set");
        String outOfRange = output(worker(args, 2, 2, port, dir.resolve("b.log")), dir.resolve("b.log"));
        assertThat(outOfRange).contains("RANK 2 is out of range");
        try (ServerSocket busy = new ServerSocket(0)) {
            String inUse = output(worker(args, 0, 2, busy.getLocalPort(), dir.resolve("c.log")), dir.resolve("c.log"));
            assertThat(inUse).contains("could not host the rendezvous store").contains("port");
        }
        List<String> other = tiny(dir.resolve("run"), 4, 2, "--dist_timeout", "20", "--seed", "7");
        Process r0 = worker(args, 0, 2, port, dir.resolve("d0.log")), r1 = worker(other, 1, 2, port, dir.resolve("d1.log"));
        String first = output(r0, dir.resolve("d0.log")), second = output(r1, dir.resolve("d1.log"));
        assertThat(r0.exitValue()).isNotZero();
        assertThat(first + second).contains("different training options");
        assertThat(Files.exists(dir.resolve("run/metrics.csv"))).isFalse();
    }

    /**
     * torch.distributed's GLOO_SOCKET_IFNAME: Gloo binds to the named interface (here the loopback one, and
     * the pair trains); an interface that does not exist stops every rank with a sentence naming it.
     * Without it, each rank binds to its own address on the route to MASTER_ADDR (ci/multi-host: two hosts).
     */
    @Test
    void glooSocketIfnameChoosesTheInterfaceAndAMissingOneIsNamed(@TempDir Path dir) throws Exception {
        List<String> args = tiny(dir.resolve("run"), 4, 2, "--dist_timeout", "20");
        int port = freePort();
        Process r0 = worker(args, 0, 2, port, Map.of("GLOO_SOCKET_IFNAME", "lo"), dir.resolve("a0.log"));
        Process r1 = worker(args, 1, 2, port, Map.of("GLOO_SOCKET_IFNAME", "lo"), dir.resolve("a1.log"));
        String first = output(r0, dir.resolve("a0.log"));
        output(r1, dir.resolve("a1.log"));
        assertThat(r0.exitValue()).as(first).isZero();
        assertThat(r1.exitValue()).isZero();
        assertThat(MetricsLog.readCsv(dir.resolve("run/metrics.csv"))).hasSize(2);

        List<String> other = tiny(dir.resolve("other"), 4, 2, "--dist_timeout", "20");
        int next = freePort();
        Map<String, String> missing = Map.of("GLOO_SOCKET_IFNAME", "ibot4j-none0");
        Process b0 = worker(other, 0, 2, next, missing, dir.resolve("b0.log")), b1 = worker(other, 1, 2, next, missing, dir.resolve("b1.log"));
        String bad = output(b0, dir.resolve("b0.log"));
        output(b1, dir.resolve("b1.log"));
        assertThat(b0.exitValue()).isNotZero();
        assertThat(bad).contains("GLOO_SOCKET_IFNAME=ibot4j-none0").contains("cannot use the interface 'ibot4j-none0'");
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private static Process worker(List<String> args, int rank, int world, int port, Path log) throws IOException {
        return worker(args, rank, world, port, Map.of(), log);
    }

    private static Process worker(List<String> args, int rank, int world, int port, Map<String, String> extra, Path log) throws IOException {
        Map<String, String> env = new LinkedHashMap<>(Map.of("RANK", String.valueOf(rank), "LOCAL_RANK", String.valueOf(rank),
                "WORLD_SIZE", String.valueOf(world), "MASTER_ADDR", "127.0.0.1", "MASTER_PORT", String.valueOf(port)));
        env.putAll(extra);
        return worker(args, env, log);
    }

    /** One worker JVM as torchrun starts it: the CLI with torchrun's variables. */
    private static Process worker(List<String> args, Map<String, String> env, Path log) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(Launcher.workerCommand(args)).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().putAll(env);
        return pb.start();
    }

    private static String output(Process p, Path log) throws Exception {
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("exits within 60 s").isTrue();
        return Files.readString(log, StandardCharsets.UTF_8);
    }
}
