package org.ibot4j.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.ibot4j.api.io.AtomicFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A damaged checkpoint is refused with its name before anything loads; it never loads altered weights silently. */
class CheckpointIntegrityTest {
    @Test
    void fortyCopiesWithFlippedBitsNeverLoadAlteredWeights(@TempDir Path dir) throws IOException {
        IbotConfig config = TinyModels.config(3);
        Path original = dir.resolve("ckpt.ibot4j");
        List<float[]> weights = new ArrayList<>();
        List<String> names;
        try (IbotModel model = IbotModel.create(config)) {
            AtomicFiles.writeToPath(original, tmp -> model.save(tmp, "{}"));
            names = model.tensorNames();
            for (String n : names) weights.add(model.readTensor(n));
        }
        byte[] bytes = Files.readAllBytes(original);
        SplittableRandom random = new SplittableRandom(40);
        int refused = 0, intact = 0;
        for (int copy = 0; copy < 40; copy++) {
            byte[] damaged = bytes.clone();
            int flips = 1 + random.nextInt(8);
            for (int f = 0; f < flips; f++) {
                int at = random.nextInt(damaged.length);
                damaged[at] ^= (byte) (1 << random.nextInt(8));
            }
            Path file = Files.write(dir.resolve("copy" + copy + ".ibot4j"), damaged);
            try (IbotModel loaded = IbotModel.open(file, 1)) {
                // Loaded: only acceptable when the flips missed everything that is read (zip padding).
                for (int i = 0; i < names.size(); i++) {
                    assertThat(loaded.readTensor(names.get(i))).as("copy %d loaded silently with %s altered", copy, names.get(i))
                            .containsExactly(weights.get(i));
                }
                intact++;
            } catch (Ibot4jException | InvalidConfigException e) {
                assertThat(e.getMessage()).contains(file.toString());
                refused++;
            }
        }
        System.out.println("checkpoints with 1-8 flipped bits: " + refused + " refused, " + intact + " loaded with every tensor intact");
        assertThat(refused + intact).isEqualTo(40);
        assertThat(refused).as("flips in tensor data are caught").isGreaterThan(30);
    }
}
