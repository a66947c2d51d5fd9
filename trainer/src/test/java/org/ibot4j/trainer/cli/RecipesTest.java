package org.ibot4j.trainer.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.ibot4j.trainer.run.PretrainOptions;
import org.ibot4j.trainer.run.PretrainSetup;
import org.ibot4j.trainer.run.Recipes;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The shipped recipes: {@code --config NAME} reads them, they are valid runs, and a file still wins. */
class RecipesTest {
    @Test
    void everyShippedRecipeIsAValidRunThatTheCommandLineNames() throws IOException {
        for (String name : Recipes.NAMES) {
            Map<String, Object> recipe = Recipes.read(name);
            PretrainOptions options = CliTest.pretrainOptions("--config", name, "--output", "unused");
            PretrainSetup.requireValid(options);
            for (String key : recipe.keySet()) {
                assertThat(options.isExplicit(key)).as(name + ": " + key).isTrue();
            }
            assertThat(options.epochs).as(name).isEqualTo(((Number) recipe.get("epochs")).intValue());
        }
    }

    @Test
    void theDemoRunsItsShippedRecipe() throws IOException {
        assertThat(DemoCommand.recipe()).isEqualTo(Recipes.read("demo"));
    }

    @Test
    void aFileOfTheSameNameWinsAndAnUnknownNameListsTheRecipes(@TempDir Path dir) throws IOException {
        Path file = Files.writeString(dir.resolve("demo"), "epochs: 3\n");
        PretrainOptions fromFile = CliTest.pretrainOptions("--config", file.toString(), "--output", "unused");
        assertThat(fromFile.epochs).isEqualTo(3);

        CliTest.Result r = CliTest.run("pretrain", "--config", "fashion-mnist-hours", "--output", dir.resolve("never").toString());
        assertThat(r.code()).isNotZero();
        assertThat(r.err()).contains("fashion-mnist-hours does not exist").contains("not a shipped recipe")
                .contains(String.join(", ", Recipes.NAMES));
        assertThat(dir.resolve("never")).doesNotExist();
    }
}
