package org.ibot4j.trainer.run.reporting;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedWriter;
import java.io.IOException;
import java.lang.reflect.RecordComponent;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.ibot4j.api.io.AtomicFiles;

/**
 * One row per iteration in {@code metrics.jsonl} and {@code metrics.csv}. A resumed run first drops
 * the rows at or after the iteration it resumes from (written after the checkpoint it restarts at), so
 * each iteration appears once and the files read as one run.
 */
public final class MetricsLog implements AutoCloseable {
    private static final RecordComponent[] ROW = MetricsRow.class.getRecordComponents();
    /** The columns: {@link MetricsRow}'s components in snake_case. */
    public static final String[] COLUMNS = Arrays.stream(ROW)
            .map(c -> c.getName().replaceAll("([a-z0-9])([A-Z])", "$1_$2").toLowerCase(Locale.ROOT)).toArray(String[]::new);
    /** Columns of runs logged before the collapse metrics (2026-12-02): their rows are kept on resume. */
    private static final int EARLIER_COLUMNS = 16;
    /** Columns of runs logged before the Gram and warm-up columns (2026-12-07): their rows are kept on resume too. */
    private static final int COLLAPSE_COLUMNS = 22;

    private static final ObjectMapper JSON = new ObjectMapper();
    private final BufferedWriter jsonl, csv;

    public MetricsLog(Path dir, long resumeFrom) throws IOException {
        Path jsonPath = dir.resolve("metrics.jsonl"), csvPath = dir.resolve("metrics.csv");
        keepBefore(jsonPath, resumeFrom, false);
        keepBefore(csvPath, resumeFrom, true);
        boolean header = !Files.exists(csvPath) || Files.size(csvPath) == 0;
        jsonl = Files.newBufferedWriter(jsonPath, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        csv = Files.newBufferedWriter(csvPath, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        if (header) csv.write(String.join(",", COLUMNS) + "\n");
    }

    /** Appends one iteration. Flushed so a crash loses at most the current row. */
    public void append(MetricsRow r) throws IOException {
        Object[] values = new Object[COLUMNS.length];
        try {
            for (int i = 0; i < values.length; i++) values[i] = ROW[i].getAccessor().invoke(r);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
        ObjectNode json = JSON.createObjectNode();
        StringBuilder row = new StringBuilder();
        for (int i = 0; i < values.length; i++) {
            String v = format(values[i]);
            // The CSV's rounded text, as a JSON number, boolean or null: both files hold the same values.
            json.set(COLUMNS[i], v.equals("null") ? json.nullNode() : JSON.readTree(v));
            row.append(i == 0 ? "" : ",").append(v);
        }
        jsonl.write(JSON.writeValueAsString(json) + "\n");
        csv.write(row.append('\n').toString());
        jsonl.flush();
        csv.flush();
    }

    private static String format(Object v) {
        if (v instanceof Double d) {
            // JSON has no NaN/Infinity literals: a non-finite loss is written as null (and "finite": false).
            return Double.isFinite(d) ? String.format(Locale.ROOT, "%.6g", d) : "null";
        }
        return String.valueOf(v);
    }

    /** Rows of a metrics file, parsed (for tests and the loss curve of a resumed run). */
    public static List<Map<String, String>> readCsv(Path csvPath) throws IOException {
        List<String> lines = Files.readAllLines(csvPath);
        List<Map<String, String>> rows = new ArrayList<>();
        if (lines.isEmpty()) return rows;
        String[] header = lines.get(0).split(",");
        for (String line : lines.subList(1, lines.size())) {
            String[] cells = line.split(",", -1);
            Map<String, String> row = new LinkedHashMap<>();
            for (int i = 0; i < header.length && i < cells.length; i++) row.put(header[i], cells[i]);
            rows.add(row);
        }
        return rows;
    }

    /**
     * A resumed run's k-NN log: rows measured after the checkpoint it resumes from are dropped (the
     * resumed run measures them again), so every measurement appears once.
     */
    public static void keepKnnUpTo(Path knnJsonl, long iteration) throws IOException {
        if (!Files.exists(knnJsonl)) return;
        List<String> kept = new ArrayList<>();
        for (String line : Files.readAllLines(knnJsonl)) {
            try {
                JsonNode row = JSON.readTree(line);
                if (row != null && row.path("iteration").asLong(Long.MAX_VALUE) <= iteration) kept.add(line);
            } catch (IOException torn) {
                // a line cut by a crash mid-write: dropped
            }
        }
        AtomicFiles.writeString(knnJsonl, kept.isEmpty() ? "" : String.join("\n", kept) + "\n");
    }

    private static void keepBefore(Path file, long iteration, boolean hasHeader) throws IOException {
        if (!Files.exists(file)) return;
        List<String> kept = new ArrayList<>();
        List<String> lines = Files.readAllLines(file);
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            if (hasHeader && i == 0) {
                // A run logged before the later columns gets the full header; its earlier rows simply lack them.
                kept.add(String.join(",", COLUMNS).startsWith(line) ? String.join(",", COLUMNS) : line);
                continue;
            }
            Long it = iterationOf(line, hasHeader);
            if (it != null && it < iteration) kept.add(line);  // a torn last line (crash mid-write) is dropped too
        }
        AtomicFiles.writeString(file, kept.isEmpty() ? "" : String.join("\n", kept) + "\n");
    }

    private static Long iterationOf(String line, boolean csvRow) {
        try {
            if (csvRow) {
                return known(line.split(",", -1).length) ? Long.parseLong(line.substring(0, line.indexOf(','))) : null;
            }
            JsonNode row = JSON.readTree(line);
            return row != null && row.has("iteration") && known(row.size()) ? row.get("iteration").asLong() : null;
        } catch (RuntimeException | IOException e) {  // a torn or foreign line
            return null;
        }
    }

    private static boolean known(int columns) {
        return columns == COLUMNS.length || columns == EARLIER_COLUMNS || columns == COLLAPSE_COLUMNS;
    }

    @Override
    public void close() throws IOException {
        try (jsonl; csv) {
            jsonl.flush();
            csv.flush();
        }
    }
}
