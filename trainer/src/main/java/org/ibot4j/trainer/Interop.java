package org.ibot4j.trainer;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.ibot4j.api.IbotConfig;
import org.ibot4j.api.IbotModel;
import org.ibot4j.api.Network;
import org.ibot4j.api.io.PthReader;
import org.ibot4j.api.io.WeightExchange;

/** {@code ./ibot4j export} and {@code ./ibot4j import}: weights to and from PyTorch files. */
final class Interop {
    private Interop() {}

    static int export(Path checkpoint, String which, String format, Path out, PrintStream log) throws IOException {
        Network network = Network.valueOf(which.toUpperCase(java.util.Locale.ROOT));
        try (IbotModel model = IbotModel.open(checkpoint, 0)) {
            WeightExchange.export(model, network, WeightExchange.Format.of(format), out);
        }
        log.println("wrote the " + which + " backbone of " + checkpoint + " to " + out + " (timm ViT key names)");
        return 0;
    }

    /**
     * Converts an official iBOT checkpoint or a backbone-only file into an ibot4j checkpoint; tensors it
     * cannot place make it fail unless {@code allowUnknown}, and every missing one is listed.
     */
    static int importWeights(Path from, Path out, int numHeads, boolean normLastLayer, boolean allowUnknown, PrintStream log)
            throws IOException {
        Map<String, PthReader.FloatTensor> named = WeightExchange.toIbot4jNames(WeightExchange.read(from));
        IbotConfig config = WeightExchange.inferConfig(named, numHeads).normLastLayer(normLastLayer).build();
        try (IbotModel model = IbotModel.create(config)) {
            WeightExchange.ImportReport report = WeightExchange.apply(model, named);
            log.printf("loaded %d tensors from %s%n", report.loaded().size(), from);
            print(log, "aliases of a shared head (identical values, skipped)", report.aliases());
            print(log, "missing from the file (kept at initialisation)", report.missing());
            print(log, "in the file but not in the model", report.unknown());
            if (!report.unknown().isEmpty() && !allowUnknown) {
                log.println("not written: the file has tensors this architecture does not place (see above); "
                        + "check --num-heads and the flags, or pass --allow-unknown to drop them");
                return 1;
            }
            CheckpointStore.saveAtomically(model, out,
                    "{\"imported_from\":\"" + from.toAbsolutePath().toString().replace("\"", "'") + "\"}");
            log.println("wrote " + out);
        }
        return 0;
    }

    private static void print(PrintStream log, String title, List<String> names) {
        if (names.isEmpty()) return;
        log.printf("%s (%d):%n", title, names.size());
        for (String n : names) log.println("  " + n);
    }
}
