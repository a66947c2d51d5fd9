package org.ibot4j.trainer.cli;

import java.util.LinkedHashSet;
import java.util.Set;
import org.ibot4j.trainer.run.PretrainOptions;
import org.ibot4j.trainer.run.running.DistSetup;
import org.ibot4j.trainer.run.running.Pretraining;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;

/** {@code ibot4j pretrain}: iBOT pretraining from a config file and/or flags, with resume. */
@Command(name = "pretrain", header = "iBOT pretraining from a config file and/or flags, with resume and data parallelism", mixinStandardHelpOptions = true, showDefaultValues = true, sortOptions = false,
        description = {"iBOT pretraining. DATA: an image folder (ImageFolder classes or flat; train/ and val/ sub-folders are",
                "the splits), a folder of IDX or CIFAR-10 binary files, a list file of image paths, or 'fashion-mnist'.",
                "Options as main_ibot.py names them ('_' or '-'); a YAML/JSON --config sets them too, flags override it.",
                "Defaults: the published ViT-S/16 run; for images of 64 px or less, 32/16 px crops of milder scales and patch 8 unless given.",
                "Writes DIR/metrics.jsonl and .csv, DIR/checkpoints/ckpt-N.ibot4j (atomic, the last --keep_checkpoints kept),",
                "DIR/loss.png, DIR/report.html and DIR/options.json. Run again with the same DIR to resume; --max_steps counts across resumes.",
                "Data-parallel: --nproc_per_node N starts N workers (also across machines with --nnodes/--node_rank/--master_addr);",
                "under torchrun (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT set) each process joins that group."})
final class PretrainCommand extends Ibot4jCommand {
    @Option(names = "--config", paramLabel = "FILE|RECIPE", description = "YAML or JSON file of options, or a shipped recipe: demo, fashion-mnist-hour (docs/demo.md; flags override it)")
    String config;

    @Mixin
    PretrainOptions options;

    @Override
    public Integer call() throws Exception {
        PretrainOptions chosen = withExplicit(this, options);
        if (Launcher.wanted(chosen)) return Launcher.launch(chosen, spec.commandLine().getParseResult().originalArgs(), out);
        Launcher.endWithLauncher(out);
        Pretraining.of(chosen).dist(DistSetup.fromEnvironment(chosen)).console(out).build().run();
        return 0;
    }

    /** Marks what the user chose: every flag given and every option the config file set. */
    static PretrainOptions withExplicit(Ibot4jCommand command, PretrainOptions options) {
        Set<String> given = new LinkedHashSet<>();
        for (OptionSpec o : command.spec.commandLine().getParseResult().matchedOptions()) given.add(o.longestName().substring(2));
        if (command.spec.defaultValueProvider() instanceof ConfigDefaults file) given.addAll(file.explicit());
        return options.markExplicit(given);
    }
}
