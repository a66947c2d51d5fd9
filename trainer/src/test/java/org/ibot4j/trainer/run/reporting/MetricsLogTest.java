package org.ibot4j.trainer.run.reporting;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MetricsLogTest {
    @Test
    void aRunLoggedBeforeTheCollapseColumnsKeepsItsRowsOnResume(@TempDir Path dir) throws IOException {
        String old = "iteration,epoch,loss,cls_loss,patch_loss,lr,weight_decay,teacher_momentum,teacher_temp,teacher_patch_temp,"
                + "grad_norm,images_per_s,data_wait_s,step_s,finite,skipped_images";
        String row = ",0,7.1,6.9,0.2,0.0001,0.04,0.996,0.04,0.04,1.5,100,0.01,0.6,true,0";
        Files.writeString(dir.resolve("metrics.csv"), old + "\n0" + row + "\n1" + row + "\n2" + row + "\n");
        StringBuilder json = new StringBuilder();
        for (int it = 0; it < 3; it++) {
            StringBuilder line = new StringBuilder("{");
            String[] names = old.split(","), values = (it + row).split(",");
            for (int i = 0; i < names.length; i++) line.append(i == 0 ? "" : ",").append('"').append(names[i]).append("\":").append(values[i]);
            json.append(line).append("}\n");
        }
        Files.writeString(dir.resolve("metrics.jsonl"), json);
        try (MetricsLog log = new MetricsLog(dir, 2)) {
            log.append(new MetricsRow(2L, 0, 7.0, 6.8, 0.2, 1e-4, 0.04, 0.996, 0.04, 0.04, 1.4, 100.0, 0.01, 0.6, true, 0, 0.0, 6.9, 5.0, 3, 0.05, 2.5, 0.0, false, 0.0));
        }
        List<Map<String, String>> rows = MetricsLog.readCsv(dir.resolve("metrics.csv"));
        assertThat(rows).extracting(r -> r.get("iteration")).containsExactly("0", "1", "2");
        assertThat(rows.get(0).get("loss")).isEqualTo("7.1");
        assertThat(rows.get(0)).doesNotContainKey("teacher_cls_entropy");
        assertThat(rows.get(2).get("teacher_cls_entropy")).isEqualTo("6.90000");
        assertThat(Files.readAllLines(dir.resolve("metrics.csv")).getFirst()).isEqualTo(String.join(",", MetricsLog.COLUMNS));
        List<String> jsonl = Files.readAllLines(dir.resolve("metrics.jsonl"));
        assertThat(jsonl).hasSize(3);
        assertThat(jsonl.get(1)).startsWith("{\"iteration\":1,");
        assertThat(jsonl.get(2)).contains("\"teacher_cls_entropy\":6.9,");
    }
}
