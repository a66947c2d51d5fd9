package org.ibot4j.trainer.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.ibot4j.api.Encoder;
import org.ibot4j.api.image.Pixels;
import org.ibot4j.api.io.AtomicFiles;
import org.ibot4j.api.io.SafeTensorsWriter;
import org.ibot4j.trainer.data.Datasets;
import org.ibot4j.trainer.data.ImageSource;
import org.ibot4j.trainer.data.ImageSources;
import org.ibot4j.trainer.run.reporting.ProgressBar;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code ibot4j embed}: CLS features of every readable image of a folder, in file order, written as
 * safetensors (tensor {@code features} [N, D]; the file names in the metadata entry {@code files}, a
 * JSON list) or as .npy (float32 [N, D]) with the file names as JSON lines in {@code <out>.files.jsonl}
 * (a JSON string a line: any file name, newlines included, survives). Unreadable images are skipped,
 * logged and left out of both. The output is checked before any image is read; features go to a spool
 * beside it while they are computed, so memory stays flat and outputs of any size are written.
 */
@Command(name = "embed", header = "CLS features of a folder of images to .safetensors or .npy", mixinStandardHelpOptions = true, showDefaultValues = true, sortOptions = false,
        description = {"CLS features of every readable image of a folder (resized, centre-cropped, normalised as in training).",
                ".safetensors: tensor 'features' [N, D], file names as a JSON list in the metadata key 'files'.",
                ".npy: float32 [N, D], file names as JSON lines (one JSON string a line) in FILE.npy.files.jsonl.",
                "Unreadable images are skipped."})
final class EmbedCommand extends Ibot4jCommand {
    private static final Logger LOG = LoggerFactory.getLogger(EmbedCommand.class);
    private static final int CHUNK = 64;
    private static final ObjectMapper JSON = new ObjectMapper();

    @Mixin
    CheckpointOptions checkpoint;

    @Option(names = "--images", required = true, paramLabel = "DIR", description = "folder (or list file, IDX folder) of images")
    String images;

    @Option(names = "--output", required = true, paramLabel = "FILE", description = "FILE.safetensors or FILE.npy")
    Path output;

    @Mixin
    ForeignWeightsOptions foreign;

    @Override
    public Integer call() throws IOException {
        // A run folder goes through the trainer's store (it logs its choice); a file may be any weights the Encoder reads.
        Path weights = Files.isDirectory(checkpoint.checkpoint) ? checkpoint.file() : checkpoint.checkpoint;
        Encoder.Options options = foreign.apply(Encoder.Options.defaults().network(checkpoint.which).threads(checkpoint.threads()).batchSize(CHUNK));
        return run(weights, images, options, output, out);
    }

    static int run(Path checkpoint, String images, Encoder.Options options, Path out, PrintStream console) throws IOException {
        String name = out.getFileName() == null ? "" : out.getFileName().toString().toLowerCase(Locale.ROOT);
        if (!name.endsWith(".safetensors") && !name.endsWith(".npy")) {
            throw new IllegalArgumentException("--output must end in .safetensors or .npy, got " + out);
        }
        boolean npy = name.endsWith(".npy");
        Path list = out.resolveSibling(out.getFileName() + ".files.jsonl");
        AtomicFiles.checkTarget(out, 0);
        if (npy) AtomicFiles.checkTarget(list, 0);
        ImageSource source = ImageSources.checked(Datasets.open(images, Datasets.Split.TRAIN));
        String which = options.network().name().toLowerCase(Locale.ROOT);
        List<String> files = new ArrayList<>();
        try (Encoder encoder = Encoder.open(checkpoint, options)) {
            // The spool and the final file hold every feature once each; the names are small beside them.
            AtomicFiles.checkTarget(out, 2L * source.size() * encoder.dim() * Float.BYTES);
            try (FeatureSpool spool = new FeatureSpool(out, encoder.dim())) {
                long start = System.nanoTime();
                embed(encoder, source, spool, files);
                double seconds = (System.nanoTime() - start) / 1e9;
                if (spool.rows() == 0) throw new IOException("no readable images in " + images);
                if (npy) {
                    AtomicFiles.write(out, stream -> {
                        writeNpyHeader(stream, spool.rows(), spool.dim());
                        spool.copyTo(stream);
                    });
                    StringBuilder lines = new StringBuilder();
                    for (String f : files) lines.append(JSON.writeValueAsString(f)).append('\n');
                    AtomicFiles.writeString(list, lines.toString());
                } else {
                    Map<String, long[]> shapes = Map.of("features", new long[] {spool.rows(), spool.dim()});
                    byte[] header = SafeTensorsWriter.header(shapes, Map.of("files", JSON.writeValueAsString(files), "network", which,
                            "checkpoint", checkpoint.toString()));
                    AtomicFiles.write(out, stream -> {
                        stream.write(header);
                        spool.copyTo(stream);
                    });
                }
                console.printf(Locale.ROOT, "%d x %d %s CLS features of %s written to %s%s; read and embedded in %.1f s, %.0f images/s%n",
                        spool.rows(), spool.dim(), which, images, out, npy ? " (file names in " + list.getFileName() + ")"
                                : " (file names in its metadata 'files')", seconds, spool.rows() / seconds);
            }
        }
        return 0;
    }

    private static void embed(Encoder encoder, ImageSource source, FeatureSpool spool, List<String> files) throws IOException {
        ProgressBar bar = new ProgressBar("embed", source.size());
        List<Pixels> pending = new ArrayList<>(CHUNK);
        List<String> pendingNames = new ArrayList<>(CHUNK);
        for (int i = 0; i < source.size(); i++) {
            try {
                pending.add(source.load(i).pixels());
                pendingNames.add(source.describe(i));
            } catch (IOException e) {
                LOG.warn("skipping unreadable image {}: {}", source.describe(i), e.getMessage());
            }
            if (pending.size() == CHUNK || (i == source.size() - 1 && !pending.isEmpty())) {
                for (float[] row : encoder.embedPixels(pending)) spool.add(row);
                files.addAll(pendingNames);
                pending.clear();
                pendingNames.clear();
            }
            bar.update(i + 1, files.size() + " embedded");
        }
        bar.finish();
    }

    /** NumPy's .npy format, version 1.0: magic, then the header dict padded to 64 bytes; little-endian float32 data follows. */
    static void writeNpyHeader(OutputStream o, long rows, int cols) throws IOException {
        String dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + rows + ", " + cols + "), }";
        int unpadded = 10 + dict.length() + 1;
        String header = dict + " ".repeat((64 - unpadded % 64) % 64) + "\n";
        o.write(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0});
        o.write(ByteBuffer.allocate(2).order(ByteOrder.LITTLE_ENDIAN).putShort((short) header.length()).array());
        o.write(header.getBytes(StandardCharsets.US_ASCII));
    }
}
