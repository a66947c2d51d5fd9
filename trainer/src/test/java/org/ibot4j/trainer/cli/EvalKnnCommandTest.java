package org.ibot4j.trainer.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import org.ibot4j.trainer.data.IdxDatasetTest;
import org.ibot4j.trainer.run.running.PretrainerTest;
import org.ibot4j.trainer.run.running.Pretraining;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EvalKnnCommandTest {
    /**
     * The k-NN monitor and eval-knn measure the same thing; eval-knn is given the run folder (what
     * pretrain prints and users pass), the redesign issue's second failure.
     */
    @Test
    void theKnnMonitorAgreesWithEvalKnnGivenTheRunFolder(@TempDir Path dir) throws IOException {
        Pretraining.Result run = PretrainerTest.run(PretrainerTest.tiny(dir, Map.of("knn_every", 1, "knn_train", 200, "knn_test", 50,
                "epochs", 2, "warmup_teacher_temp_epochs", 2)), PretrainerTest.QUIET);
        assertThat(run.knn()).extracting(Pretraining.Knn::epoch).containsExactly(1, 2);
        assertThat(Files.readAllLines(dir.resolve("knn.jsonl"))).hasSize(2);
        CliTest.Result r = CliTest.run("eval-knn", "--checkpoint", dir.toString(), "--data", IdxDatasetTest.FASHION.toString(),
                "--limit-train", "200", "--limit_val", "50", "--threads", "2");
        assertThat(r.code()).as(r.err()).isZero();
        double top1 = run.knn().get(1).accuracy().top1();
        assertThat(r.out()).contains(String.format(Locale.ROOT, "top-1 %.2f %%", top1))
                .contains(run.checkpoint().getFileName().toString());
    }
}
