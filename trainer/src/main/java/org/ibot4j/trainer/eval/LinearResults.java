package org.ibot4j.trainer.eval;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.ibot4j.api.io.AtomicFiles;
import org.ibot4j.api.io.NamedTensor;
import org.ibot4j.api.io.SafeTensorsWriter;

/** The linear probe's files: its result as JSON, and the frozen features for an independent check (tools/reference/linear_probe_check.py). */
public final class LinearResults {
    private LinearResults() {}

    /** Writes {@code context} (what was evaluated, how) followed by the result, atomically. */
    public static void writeJson(Path file, Map<String, Object> context, LinearEvaluation.Result r) throws IOException {
        Map<String, Object> json = new LinkedHashMap<>(context);
        json.put("mode", r.mode().label());
        json.put("feature_dim", r.featureDim());
        json.put("classes", r.classes());
        json.put("train_images", r.trainImages());
        json.put("val_images", r.valImages());
        json.put("best", row(r.best()));
        List<Object> rows = new ArrayList<>();
        for (LinearEvaluation.PerLr p : r.perLr()) rows.add(row(p));
        json.put("per_lr", rows);
        AtomicFiles.writeString(file, new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(json) + "\n");
    }

    private static Map<String, Object> row(LinearEvaluation.PerLr p) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("lr", p.lr());
        m.put("scaled_lr", p.scaledLr());
        m.put("top1", p.best().top1());
        m.put("top5", p.best().top5());
        m.put("best_epoch", p.bestEpoch());
        m.put("last_top1", p.last().top1());
        m.put("last_top5", p.last().top5());
        return m;
    }

    /**
     * The centred-view features and labels of both splits as safetensors ({@code train_features} [N, F],
     * {@code train_labels} [N] as float32, {@code val_features}, {@code val_labels}) with {@code metadata}.
     */
    public static void saveFeatures(Path file, float[][] train, int[] trainLabels, float[][] val, int[] valLabels, Map<String, String> metadata)
            throws IOException {
        List<NamedTensor> tensors = List.of(matrix("train_features", train), vector("train_labels", trainLabels), matrix("val_features", val),
                vector("val_labels", valLabels));
        SafeTensorsWriter.write(file, tensors, metadata);
    }

    private static NamedTensor matrix(String name, float[][] rows) {
        int dim = rows.length == 0 ? 0 : rows[0].length;
        if ((long) rows.length * dim > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(rows.length + " x " + dim + " features are more than one file can hold here; use --limit_train/--limit_val");
        }
        float[] flat = new float[rows.length * dim];
        for (int i = 0; i < rows.length; i++) System.arraycopy(rows[i], 0, flat, i * dim, dim);
        return new NamedTensor(name, new long[] {rows.length, dim}, flat);
    }

    private static NamedTensor vector(String name, int[] values) {
        float[] data = new float[values.length];
        for (int i = 0; i < values.length; i++) data[i] = values[i];
        return new NamedTensor(name, new long[] {values.length}, data);
    }
}
