package org.ibot4j.trainer.run.checkpoints;

import java.nio.file.Path;
import org.ibot4j.api.IbotModel;

/**
 * How far apart two checkpoints' teachers are, the measure of the data-parallel checks (N ranks x B
 * against 1 process x N·B, a resumed run against an uninterrupted one, a Spark barrier stage).
 *
 * @param max the largest absolute difference over the teacher's tensors
 * @param largest the largest absolute teacher weight of the reference: the scale {@code max} is judged against
 */
public record TeacherDifference(double max, double largest) {
    /**
     * @param reference a checkpoint
     * @param other a checkpoint of the same architecture
     */
    public static TeacherDifference of(Path reference, Path other) {
        try (IbotModel x = IbotModel.open(reference, 1); IbotModel y = IbotModel.open(other, 1)) {
            double worst = 0, largest = 0;
            for (String name : x.tensorNames()) {
                if (!name.startsWith("teacher.")) continue;
                float[] u = x.readTensor(name), v = y.readTensor(name);
                for (int i = 0; i < u.length; i++) {
                    worst = Math.max(worst, Math.abs(u[i] - v[i]));
                    largest = Math.max(largest, Math.abs(u[i]));
                }
            }
            return new TeacherDifference(worst, largest);
        }
    }

    /** The difference relative to the largest weight. */
    public double ratio() {
        return max / largest;
    }
}
