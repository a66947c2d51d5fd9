package org.ibot4j.trainer.cli;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.ibot4j.trainer.run.Recipes;
import org.ibot4j.trainer.run.checkpoints.ScheduleExtension;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine;

/**
 * The layers under the command line for commands with {@code --config}: a command's own recipe
 * (the demo's), then the YAML or JSON file, each a mapping of option names to values; flags override
 * both. picocli asks this provider for every option's default and converts the value as it would a flag,
 * so a bad value in a file is reported like a bad flag.
 */
final class ConfigDefaults implements CommandLine.IDefaultValueProvider {
    private final Map<String, Object> recipe;
    private final Map<String, Object> file;
    private final Set<String> chosen = new LinkedHashSet<>();

    private ConfigDefaults(Map<String, Object> recipe, Map<String, Object> file) {
        this.recipe = recipe;
        this.file = file;
    }

    /** Snake_case names of the options the config file or the command's recipe set: choices, not defaults. */
    Set<String> explicit() {
        return Set.copyOf(chosen);
    }

    /** Attaches the layers to the sub-command named in {@code args}, if it takes a config file. */
    static void install(CommandLine root, String[] args) throws IOException {
        String name = args.length == 0 ? null : args[0];
        CommandLine sub = name == null ? null : root.getSubcommands().get(name);
        if (sub == null || !sub.getCommandSpec().optionsMap().containsKey("--config")) return;
        Map<String, Object> recipe = sub.getCommand() instanceof DemoCommand ? normalised(DemoCommand.recipe()) : Map.of();
        String configFile = valueOf(args, "--config");
        Map<String, Object> file = configFile == null ? Map.of() : normalised(Recipes.resolve(configFile));
        List<String> unknown = new ArrayList<>();
        for (String key : file.keySet()) {
            if (key.equals(ScheduleExtension.KEY)) continue;  // a run's options.json used as a config: its history, not an option
            if (!sub.getCommandSpec().optionsMap().containsKey("--" + key) || key.equals("config")) {
                List<String> close = Ibot4jCli.closest(sub.getCommandSpec(), key);
                unknown.add("'" + key + "'" + (close.isEmpty() ? "" : " (did you mean " + String.join(" or ", close) + "?)"));
            }
        }
        if (!unknown.isEmpty()) {
            throw new CommandLine.ParameterException(sub, "unknown option" + (unknown.size() > 1 ? "s " : " ")
                    + String.join(", ", unknown) + " in config file " + configFile);
        }
        sub.setDefaultValueProvider(new ConfigDefaults(recipe, file));
    }

    @Override
    public String defaultValue(ArgSpec arg) {
        if (!(arg instanceof OptionSpec option)) return null;
        for (String name : option.names()) {
            String key = name.replaceFirst("^-+", "");
            if (file.containsKey(key)) {
                chosen.add(option.longestName().substring(2));
                return text(file.get(key));
            }
        }
        for (String name : option.names()) {
            String key = name.replaceFirst("^-+", "");
            if (recipe.containsKey(key)) {
                chosen.add(option.longestName().substring(2));
                return text(recipe.get(key));
            }
        }
        return null;
    }

    /** Lists become the comma-separated form list options split on. */
    private static String text(Object value) {
        if (value instanceof List<?> list) return list.stream().map(String::valueOf).collect(Collectors.joining(","));
        return String.valueOf(value);
    }

    private static Map<String, Object> normalised(Map<String, Object> map) {
        Map<String, Object> out = new LinkedHashMap<>();
        map.forEach((k, v) -> out.put(k.replace('-', '_'), v));
        return out;
    }

    private static String valueOf(String[] args, String option) {
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals(option) && i + 1 < args.length) return args[i + 1];
            if (args[i].startsWith(option + "=")) return args[i].substring(option.length() + 1);
        }
        return null;
    }
}
