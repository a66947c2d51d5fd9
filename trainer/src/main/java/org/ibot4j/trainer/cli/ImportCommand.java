package org.ibot4j.trainer.cli;

import com.fasterxml.jackson.databind.json.JsonMapper;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.ibot4j.api.IbotConfig;
import org.ibot4j.api.IbotModel;
import org.ibot4j.api.io.PthReader;
import org.ibot4j.api.io.WeightExchange;
import org.ibot4j.trainer.run.checkpoints.CheckpointStore;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ibot4j import}: an official iBOT checkpoint or a backbone-only file into an ibot4j checkpoint;
 * tensors it cannot place make it fail unless {@code --allow_unknown}, and every missing one is listed.
 */
@Command(name = "import", header = "an official iBOT checkpoint or backbone file into an ibot4j checkpoint", mixinStandardHelpOptions = true, showDefaultValues = true, sortOptions = false,
        description = {"Converts an official iBOT checkpoint (main_ibot.py: student/teacher, module./backbone. prefixes, heads,",
                "centres) or a backbone-only .pth/.safetensors into an ibot4j checkpoint. The architecture is read from the",
                "weights; heads cannot be: --num_heads (default embed_dim / 64). Missing and unknown tensors are listed by",
                "name; unknown ones stop the import unless --allow_unknown."})
final class ImportCommand extends Ibot4jCommand {
    @Option(names = "--from", required = true, paramLabel = "FILE", description = "official checkpoint or backbone file")
    Path from;

    @Option(names = "--output", required = true, paramLabel = "FILE", description = "the ibot4j checkpoint to write")
    Path output;

    @Option(names = "--num_heads", description = "attention heads (0: embed_dim / 64)")
    int numHeads = 0;

    @Option(names = "--norm_last_layer", arity = "0..1", description = "the heads' last layer has g fixed at 1")
    boolean normLastLayer = true;

    @Option(names = "--allow_unknown", description = "drop tensors this architecture does not place instead of failing")
    boolean allowUnknown;

    @Override
    public Integer call() throws Exception {
        Map<String, PthReader.FloatTensor> named = WeightExchange.toIbot4jNames(WeightExchange.read(from));
        IbotConfig config = WeightExchange.inferConfig(named, numHeads).normLastLayer(normLastLayer).build();
        try (IbotModel model = IbotModel.create(config)) {
            WeightExchange.ImportReport report = WeightExchange.apply(model, named);
            out.printf("loaded %d tensors from %s%n", report.loaded().size(), from);
            print("aliases of a shared head (identical values, skipped)", report.aliases());
            print("missing from the file (kept at initialisation)", report.missing());
            print("in the file but not in the model", report.unknown());
            if (!report.unknown().isEmpty() && !allowUnknown) {
                out.println("not written: the file has tensors this architecture does not place (see above); "
                        + "check --num_heads and the flags, or pass --allow_unknown to drop them");
                return 1;
            }
            CheckpointStore.saveAtomically(model, output, JsonMapper.builder().build()
                    .createObjectNode().put("imported_from", from.toAbsolutePath().toString()).toString());
            out.println("wrote " + output);
        }
        return 0;
    }

    private void print(String title, List<String> names) {
        if (names.isEmpty()) return;
        out.printf("%s (%d):%n", title, names.size());
        for (String n : names) out.println("  " + n);
    }
}
