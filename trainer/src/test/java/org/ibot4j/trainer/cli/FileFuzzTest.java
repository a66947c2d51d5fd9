package org.ibot4j.trainer.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.ibot4j.api.IbotConfig;
import org.ibot4j.api.IbotModel;
import org.ibot4j.api.Network;
import org.ibot4j.api.io.AtomicFiles;
import org.ibot4j.api.io.WeightExchange;
import org.ibot4j.trainer.data.FashionPngs;
import org.ibot4j.trainer.data.IdxDataset;
import org.ibot4j.trainer.data.IdxDatasetTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Mutated files through the code that reads them (checkpoints, .pth and .safetensors exports, IDX
 * files, PNG images), in child JVMs of {@value #CHILD_HEAP} heap over batches of {@value #BATCH} cases
 * ({@link FileFuzzCases}). Each case must end in a clean error or a result equal to the undamaged
 * file's. Counted apart: crashes (the child died: a signal exit or an hs_err file; the case it had
 * started is named), hangs (over {@value FileFuzzCases#CASE_SECONDS} s), Errors (OutOfMemoryError
 * within the bounded heap, StackOverflowError) and silent loads of damaged checksummed files.
 * {@code -Dibot4j.fuzz.files=N} (ci/chaos: 1,000).
 */
class FileFuzzTest {
    private static final int CASES = Integer.getInteger("ibot4j.fuzz.files", 200);
    private static final int BATCH = 250;
    private static final String CHILD_HEAP = "256m";

    @Test
    void mutatedFilesFailCleanlyInBoundedTimeAndMemoryAndNeverLoadSilently(@TempDir Path dir) throws Exception {
        Map<String, Path> originals = originals(dir);
        List<String> kinds = new ArrayList<>(originals.keySet());
        SplittableRandom random = new SplittableRandom(1000);
        Map<String, Integer> outcomes = new TreeMap<>();
        List<String> failures = new ArrayList<>();
        for (int start = 0; start < CASES; start += BATCH) {
            // The batch's files, listed for the child: id, kind, mutated file, original.
            Map<Integer, String> pending = new LinkedHashMap<>();
            for (int i = start; i < Math.min(CASES, start + BATCH); i++) {
                String kind = kinds.get(i % kinds.size());
                Path original = originals.get(kind);
                Path folder = Files.createDirectories(dir.resolve("case" + i));
                Path file = Files.write(folder.resolve(original.getFileName()), FileFuzzCases.mutate(Files.readAllBytes(original), random));
                if (kind.equals("idx")) Files.copy(original.resolveSibling("train-labels-idx1-ubyte"), folder.resolve("train-labels-idx1-ubyte"));
                pending.put(i, i + " " + kind + " " + file + " " + original);
            }
            while (!pending.isEmpty()) runChild(dir, pending, outcomes, failures);
            for (int i = start; i < Math.min(CASES, start + BATCH); i++) deleteTree(dir.resolve("case" + i));
        }
        System.out.printf("file fuzz: %d cases in child JVMs (%s heap): %s; %d failures%n", CASES, CHILD_HEAP, outcomes, failures.size());
        assertThat(failures).isEmpty();
    }

    @Test
    void aChildThatDiesIsCountedAsACrashNamingItsCaseAndTheRestStillRun(@TempDir Path dir) throws Exception {
        Path png = FashionPngs.write(dir.resolve("png"), 1).resolve("img0.png");
        Path halt = Files.writeString(dir.resolve("original-halt"), "");
        Map<Integer, String> pending = new LinkedHashMap<>();
        pending.put(0, "0 png " + png + " " + png);
        pending.put(1, "1 halt " + dir.resolve("dies") + " " + halt);
        pending.put(2, "2 png " + png + " " + png);
        Map<String, Integer> outcomes = new TreeMap<>();
        List<String> failures = new ArrayList<>();
        while (!pending.isEmpty()) runChild(dir, pending, outcomes, failures);
        assertThat(outcomes).containsEntry("crash", 1).containsEntry("intact", 2);
        assertThat(failures).singleElement().asString().startsWith("1 halt").contains("crash (exit 134)");
    }

    /** Runs the pending cases in one child until they are done or the child dies; removes what it finished. */
    private static void runChild(Path dir, Map<Integer, String> pending, Map<String, Integer> outcomes, List<String> failures)
            throws IOException, InterruptedException {
        Path list = Files.write(dir.resolve("cases.txt"), pending.values());
        Path crashes = Files.createDirectories(dir.resolve("hs_err"));
        List<String> command = Launcher.javaCommand(FileFuzzCases.class.getName(),
                List.of("-Xmx" + CHILD_HEAP, "-XX:ErrorFile=" + crashes.resolve("hs_err_%p.log")), List.of(list.toString()));
        Process child = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        Integer started = null;
        try (BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = out.readLine()) != null; ) {
                String[] f = line.split(" ", 3);
                if (f.length < 2 || !f[1].matches("\\d+")) continue;
                int id = Integer.parseInt(f[1]);
                switch (f[0]) {
                    case "case" -> started = id;
                    case "hang" -> {
                        count(outcomes, "hang");
                        failures.add(pending.remove(id) + ": hang");
                        started = null;
                    }
                    case "done" -> {
                        String outcome = f[2];
                        count(outcomes, outcome.startsWith("error") ? "error" : outcome);
                        if (outcome.startsWith("error") || outcome.equals("silent")) failures.add(pending.get(id) + ": " + outcome);
                        pending.remove(id);
                        started = null;
                    }
                    default -> { }
                }
            }
        }
        if (!child.waitFor(1, TimeUnit.MINUTES)) child.destroyForcibly();
        boolean crashed;
        try (var reports = Files.list(crashes)) {
            crashed = child.exitValue() >= 128 || reports.findAny().isPresent();
        }
        if (started != null && crashed) {
            count(outcomes, "crash");
            failures.add(pending.remove(started) + ": crash (exit " + child.exitValue() + ")");
        } else if (!pending.isEmpty() && child.exitValue() != 3) {
            // The child ended without finishing or naming a case: report it rather than loop forever.
            failures.add("child exited " + child.exitValue() + " with " + pending.size() + " cases left");
            pending.clear();
        }
    }

    private static void count(Map<String, Integer> outcomes, String outcome) {
        outcomes.merge(outcome, 1, Integer::sum);
    }

    private static Map<String, Path> originals(Path dir) throws IOException {
        Map<String, Path> originals = new LinkedHashMap<>();
        try (IbotModel model = IbotModel.create(IbotConfig.builder().imgSize(16).patchSize(4).embedDim(16).depth(1).numHeads(2).outDim(32)
                .patchOutDim(32).hiddenDim(16).bottleneckDim(8).numThreads(1).build())) {
            Path ckpt = dir.resolve("ckpt.ibot4j");
            AtomicFiles.writeToPath(ckpt, tmp -> model.save(tmp, "{}"));
            originals.put("checkpoint", ckpt);
            WeightExchange.export(model, Network.TEACHER, WeightExchange.Format.PTH, dir.resolve("w.pth"));
            WeightExchange.export(model, Network.TEACHER, WeightExchange.Format.SAFETENSORS, dir.resolve("w.safetensors"));
            originals.put("pth", dir.resolve("w.pth"));
            originals.put("safetensors", dir.resolve("w.safetensors"));
        }
        originals.put("idx", idxImages(dir.resolve("idx-original")));
        originals.put("png", FashionPngs.write(dir.resolve("png"), 1).resolve("img0.png"));
        return originals;
    }

    /** 64 real images as uncompressed IDX files. */
    private static Path idxImages(Path folder) throws IOException {
        Files.createDirectories(folder);
        IdxDataset fashion = IdxDataset.read(IdxDatasetTest.FASHION, "t10k").head(64);
        ByteBuffer img = ByteBuffer.allocate(16 + 64 * 28 * 28);
        img.putInt(0x803).putInt(64).putInt(28).putInt(28);
        for (byte[] pixels : fashion.images()) img.put(pixels);
        ByteBuffer lab = ByteBuffer.allocate(8 + 64);
        lab.putInt(0x801).putInt(64);
        for (int label : fashion.labels()) lab.put((byte) label);
        Files.write(folder.resolve("train-labels-idx1-ubyte"), lab.array());
        return Files.write(folder.resolve("train-images-idx3-ubyte"), img.array());
    }

    private static void deleteTree(Path folder) throws IOException {
        try (var files = Files.walk(folder)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }
}
