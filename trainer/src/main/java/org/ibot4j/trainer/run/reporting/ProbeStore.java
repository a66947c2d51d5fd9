package org.ibot4j.trainer.run.reporting;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.ibot4j.api.io.AtomicFiles;
import org.ibot4j.trainer.eval.viz.Png;

/**
 * The probe figures of every checkpoint, as files: {@code probes/step-<iteration>/NN-<title>.png} and
 * a {@code figures.json} listing them (written last, so a folder without it is an interrupted write).
 * Kept on disk so the report of a resumed run shows the figures of its earlier parts.
 */
public final class ProbeStore {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern FOLDER = Pattern.compile("step-(\\d{1,18})");

    /** One stored figure: its PNG bytes, title and caption. */
    record Stored(String title, String caption, byte[] png) {}

    private ProbeStore() {}

    static Path folder(Path output) {
        return output.resolve("probes");
    }

    static void save(Path output, long step, List<CheckpointFigures.Figure> figures) throws IOException {
        if (figures.isEmpty()) return;
        Path dir = Files.createDirectories(folder(output).resolve(String.format(Locale.ROOT, "step-%08d", step)));
        ArrayNode index = JSON.createArrayNode();
        for (int i = 0; i < figures.size(); i++) {
            CheckpointFigures.Figure f = figures.get(i);
            String file = String.format(Locale.ROOT, "%02d-%s.png", i, slug(f.title()));
            AtomicFiles.writeBytes(dir.resolve(file), Png.encode(f.image()));
            index.addObject().put("title", f.title()).put("caption", f.caption() == null ? "" : f.caption()).put("file", file);
        }
        AtomicFiles.writeString(dir.resolve("figures.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(index));
    }

    /** Figures by checkpoint iteration, oldest first; incomplete or foreign folders are skipped. */
    static List<Map.Entry<Long, List<Stored>>> all(Path output) throws IOException {
        List<Map.Entry<Long, List<Stored>>> out = new ArrayList<>();
        for (Path dir : steps(output)) {
            Path index = dir.resolve("figures.json");
            if (!Files.isRegularFile(index)) continue;
            List<Stored> figures = new ArrayList<>();
            try {
                for (JsonNode f : JSON.readTree(index.toFile())) {
                    Path png = dir.resolve(f.path("file").asText());
                    if (png.getParent().equals(dir) && Files.isRegularFile(png)) {
                        figures.add(new Stored(f.path("title").asText(), f.path("caption").asText(), Files.readAllBytes(png)));
                    }
                }
            } catch (IOException torn) {
                continue;  // a damaged index: that checkpoint's figures are left out of the report
            }
            out.add(Map.entry(stepOf(dir), figures));
        }
        return out;
    }

    /** Figures of checkpoints that are no longer kept, beyond the newest: a handful spread over the run. */
    public static final int SPREAD = 4;

    /**
     * Bounds the stored figures (and so the report, which embeds them): those of the kept checkpoints
     * stay, and of the others at most {@link #SPREAD}, thinned by dropping the one whose neighbours are
     * closest, so the survivors stay spread from the start of the run to its end.
     *
     * @param output the run folder
     * @param keptCheckpoints iterations of the checkpoints retention keeps
     */
    static void thin(Path output, List<Long> keptCheckpoints) throws IOException {
        Set<Long> kept = Set.copyOf(keptCheckpoints);
        List<Path> older = new ArrayList<>(steps(output).stream().filter(d -> !kept.contains(stepOf(d))).toList());
        long end = keptCheckpoints.stream().mapToLong(Long::longValue).min().orElse(Long.MAX_VALUE);
        while (older.size() > SPREAD) {
            int drop = 1;
            long narrowest = Long.MAX_VALUE;
            for (int i = 1; i < older.size(); i++) {  // never the first: the run's start stays in view
                long next = i + 1 < older.size() ? stepOf(older.get(i + 1)) : Math.min(end, Long.MAX_VALUE / 2);
                long gap = next - stepOf(older.get(i - 1));
                if (gap < narrowest) {
                    narrowest = gap;
                    drop = i;
                }
            }
            delete(older.remove(drop));
        }
    }

    private static void delete(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.toList()) Files.deleteIfExists(f);
        }
        Files.deleteIfExists(dir);
    }

    /** A resumed run: figures of checkpoints after the one it resumes from are drawn again, so the old ones go. */
    static void keepUpTo(Path output, long iteration) throws IOException {
        for (Path dir : steps(output)) {
            if (stepOf(dir) <= iteration) {
                AtomicFiles.removeStale(dir);  // temporary files of a write a kill interrupted
                continue;
            }
            delete(dir);
        }
    }

    private static List<Path> steps(Path output) throws IOException {
        Path root = folder(output);
        if (!Files.isDirectory(root)) return List.of();
        try (Stream<Path> s = Files.list(root)) {
            return s.filter(p -> Files.isDirectory(p) && FOLDER.matcher(p.getFileName().toString()).matches())
                    .sorted(Comparator.comparingLong(ProbeStore::stepOf)).toList();
        }
    }

    private static long stepOf(Path dir) {
        Matcher m = FOLDER.matcher(dir.getFileName().toString());
        if (!m.matches()) throw new IllegalArgumentException(dir + " is not a probe folder");
        return Long.parseLong(m.group(1));
    }

    /** A file-name-safe form of a title. */
    public static String slug(String title) {
        String s = title.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]+", "-").replaceAll("(^-|-$)", "");
        return s.isEmpty() ? "figure" : s.substring(0, Math.min(40, s.length()));
    }
}
