package org.ibot4j.trainer.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.ibot4j.trainer.run.PretrainOptions;
import org.junit.jupiter.api.Test;

class CliTest {
    @Test
    void everyCommandHasHelp() throws IOException {
        for (String command : new String[] {"pretrain", "demo", "eval-knn", "embed", "doctor", "export", "import"}) {
            ByteArrayOutputStream text = new ByteArrayOutputStream();
            assertThat(Cli.run(new String[] {command, "--help"}, new PrintStream(text, true, StandardCharsets.UTF_8))).isZero();
            assertThat(text.toString(StandardCharsets.UTF_8)).as(command).contains("./ibot4j " + command);
        }
        ByteArrayOutputStream text = new ByteArrayOutputStream();
        Cli.run(new String[] {"pretrain", "--help"}, new PrintStream(text, true, StandardCharsets.UTF_8));
        assertThat(text.toString(StandardCharsets.UTF_8)).contains("--teacher_temp").contains("--pred_ratio").contains("--max_steps");
    }

    @Test
    void flagsTakeEitherSpellingSeveralValuesAndEqualsSigns() throws IOException {
        Map<String, String> flags = Cli.flags(new String[] {"pretrain", "--patch_size", "8", "--out-dim=512", "--pred_ratio", "0", "0.3",
                "--resume", "--local_crops_scale", "0.05", "0.4"});
        PretrainOptions o = Cli.pretrainOptions(PretrainOptions.defaults(), flags);
        assertThat(o.getInt("patch_size")).isEqualTo(8);
        assertThat(o.getInt("out_dim")).isEqualTo(512);
        assertThat(o.getDoubles("pred_ratio")).containsExactly(0, 0.3);
        assertThat(o.getString("resume")).isEqualTo("true");
        assertThat(o.getDoubles("local_crops_scale")).containsExactly(0.05, 0.4);
        assertThatThrownBy(() -> Cli.flags(new String[] {"pretrain", "--lr", "1", "--lr", "2"})).hasMessageContaining("--lr is given twice");
    }
}
