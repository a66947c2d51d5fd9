package org.ibot4j.trainer.run;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Config files that say something other than what they seem to: before, each was read silently. */
class ConfigFileHostileTest {
    @Test
    void aSecondYamlDocumentIsRefused(@TempDir Path dir) throws IOException {
        Path file = Files.writeString(dir.resolve("two.yaml"), "epochs: 3\n---\nepochs: 100\n");
        assertThatThrownBy(() -> ConfigFile.read(file)).isInstanceOf(IOException.class)
                .hasMessageContaining(file.toString()).hasMessageContaining("more than one YAML document");
        assertThat(ConfigFile.read(Files.writeString(dir.resolve("one.yaml"), "---\nepochs: 3\n"))).containsEntry("epochs", 3);
    }

    @Test
    void aKeyGivenTwiceIsRefusedNotTheLastOneTaken(@TempDir Path dir) throws IOException {
        for (String name : new String[] {"dup.yaml", "dup.json"}) {
            String text = name.endsWith(".json") ? "{\"lr\": 0.1, \"lr\": 0.001}" : "lr: 0.1\nepochs: 2\nlr: 0.001\n";
            Path file = Files.writeString(dir.resolve(name), text);
            assertThatThrownBy(() -> ConfigFile.read(file)).isInstanceOf(IOException.class)
                    .hasMessageContaining(file.toString()).hasMessageContaining("Duplicate field 'lr'");
        }
    }
}
