package org.ibot4j.trainer.run;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The recipes shipped in the trainer jar ({@code org/ibot4j/trainer/recipes/NAME.yaml}): option files
 * that {@code --config NAME} names, measured in docs/demo.md. A file at that path wins over a recipe of
 * the same name, since a user pointing at a file means the file.
 */
public final class Recipes {
    /** The shipped recipes; kept by hand because a jar's resources cannot be listed portably. */
    public static final List<String> NAMES = List.of("demo", "fashion-mnist-hour", "adapt-small");

    private Recipes() {}

    /**
     * The options of a {@code --config} argument: the file at that path (relative to the working
     * directory) when one exists, else the shipped recipe of that name.
     *
     * @param config a path or a recipe name
     * @return option name to value
     * @throws IOException naming the path, and the recipes, when it is neither
     */
    public static Map<String, Object> resolve(String config) throws IOException {
        Path path = Path.of(config);
        if (Files.exists(path, LinkOption.NOFOLLOW_LINKS) || !NAMES.contains(config)) {
            try {
                return ConfigFile.read(path);
            } catch (NoSuchFileException e) {
                throw new NoSuchFileException(config, null, e.getReason()
                        + ", and it is not a shipped recipe (" + String.join(", ", NAMES) + ")");
            }
        }
        return read(config);
    }

    /**
     * One shipped recipe.
     *
     * @param name one of {@link #NAMES}
     * @return option name to value
     * @throws IOException when the name is not a shipped recipe
     */
    public static Map<String, Object> read(String name) throws IOException {
        if (!NAMES.contains(name)) throw new IOException("no shipped recipe is named " + name + " (recipes: " + String.join(", ", NAMES) + ")");
        return ConfigFile.readResource(Recipes.class, "/org/ibot4j/trainer/recipes/" + name + ".yaml");
    }
}
