package org.ibot4j.trainer.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.lang.reflect.Field;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.ibot4j.trainer.run.PretrainOptions;
import org.junit.jupiter.api.Test;
import picocli.CommandLine.Option;

/** docs/cli.md is the reference of the options: every flag of pretrain has its row in the options table. */
class CliDocsTest {
    private static final Path CLI_MD = Path.of(System.getProperty("ibot4j.root", ".."), "docs", "cli.md");

    @Test
    void everyPretrainOptionHasItsRowInTheTable() throws IOException {
        String doc = Files.readString(CLI_MD);
        List<String> missing = new ArrayList<>();
        for (Field f : PretrainOptions.class.getFields()) {
            Option option = f.getAnnotation(Option.class);
            if (option != null && !doc.contains("| `" + option.names()[0] + "`")) missing.add(option.names()[0]);
        }
        assertThat(missing).as("options without a row in docs/cli.md's options table").isEmpty();
    }
}
