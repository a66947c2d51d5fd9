package org.ibot4j.trainer.cli;

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
import org.ibot4j.api.Network;
import org.ibot4j.api.image.Pixels;
import org.ibot4j.api.io.AtomicFiles;
import org.ibot4j.api.io.NamedTensor;
import org.ibot4j.api.io.SafeTensorsWriter;
import org.ibot4j.trainer.data.Datasets;
import org.ibot4j.trainer.data.ImageSource;
import org.ibot4j.trainer.run.ProgressBar;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code ibot4j embed}: CLS features of every readable image of a folder, in file order, written as
 * safetensors (tensor {@code features} [N, D]; the file names in the metadata entry {@code files}, a
 * JSON list) or as .npy (float32 [N, D]) with the file names one per line in {@code <out>.files.txt}.
 * Unreadable images are skipped, logged and left out of both. The features come from an {@link Encoder}
 * (batches of 64, as before), so the weights may also be an official or timm-named .pth / .safetensors.
 */
@Command(name = "embed", header = "CLS features of a folder of images to .safetensors or .npy", mixinStandardHelpOptions = true, showDefaultValues = true, sortOptions = false,
        description = {"CLS features of every readable image of a folder (resized, centre-cropped, normalised as in training).",
                ".safetensors: tensor 'features' [N, D], file names as a JSON list in the metadata key 'files'.",
                ".npy: float32 [N, D], file names one per line in FILE.npy.files.txt. Unreadable images are skipped."})
final class EmbedCommand extends Ibot4jCommand {
    private static final Logger LOG = LoggerFactory.getLogger(EmbedCommand.class);
    private static final int CHUNK = 64;

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
        Path weights = java.nio.file.Files.isDirectory(checkpoint.checkpoint) ? checkpoint.file() : checkpoint.checkpoint;
        return run(weights, images, foreign.apply(Encoder.Options.defaults().network(checkpoint.which).threads(checkpoint.threads())), output, out);
    }

    static int run(Path checkpoint, String images, Network which, Path out, int threads, PrintStream console) throws IOException {
        return run(checkpoint, images, Encoder.Options.defaults().network(which).threads(threads), out, console);
    }

    static int run(Path checkpoint, String images, Encoder.Options options, Path out, PrintStream console) throws IOException {
        String name = out.getFileName().toString().toLowerCase(Locale.ROOT);
        if (!name.endsWith(".safetensors") && !name.endsWith(".npy")) {
            throw new IllegalArgumentException("--output must end in .safetensors or .npy, got " + out);
        }
        ImageSource source = Datasets.open(images, Datasets.Split.TRAIN);
        List<String> files = new ArrayList<>();
        List<float[]> features = new ArrayList<>();
        try (Encoder encoder = Encoder.open(checkpoint, options.batchSize(CHUNK))) {
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
                    features.addAll(List.of(encoder.embedPixels(pending)));
                    files.addAll(pendingNames);
                    pending.clear();
                    pendingNames.clear();
                }
                bar.update(i + 1, files.size() + " embedded");
            }
            bar.finish();
        }
        float[][] rows = features.toArray(new float[0][]);
        if (rows.length == 0) throw new IOException("no readable images in " + images);
        int dim = rows[0].length;
        long floats = (long) rows.length * dim;
        if (floats > Integer.MAX_VALUE - 8) {
            // One Java array holds the whole tensor; past 2^31 floats the file has to be split.
            throw new IllegalArgumentException(rows.length + " images x " + dim + " features = " + floats
                    + " floats, more than one output file can hold here (2^31 - 9); embed the folder in parts");
        }
        float[] flat = new float[(int) floats];
        for (int i = 0; i < rows.length; i++) System.arraycopy(rows[i], 0, flat, i * dim, dim);
        Path parent = out.toAbsolutePath().getParent();
        Files.createDirectories(parent);
        if (name.endsWith(".safetensors")) {
            String list = new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(files);
            SafeTensorsWriter.write(out, List.of(new NamedTensor("features", new long[] {rows.length, dim}, flat)),
                    Map.of("files", list, "network", options.network().name().toLowerCase(Locale.ROOT), "checkpoint", checkpoint.toString()));
        } else {
            int n = rows.length;
            AtomicFiles.write(out, stream -> writeNpy(stream, flat, n, dim));
            AtomicFiles.writeString(out.resolveSibling(out.getFileName() + ".files.txt"), String.join("\n", files) + "\n");
        }
        console.printf(Locale.ROOT, "%d x %d %s CLS features of %s written to %s%s%n", rows.length, dim, options.network().name().toLowerCase(Locale.ROOT),
                images, out, name.endsWith(".npy") ? " (file names in " + out.getFileName() + ".files.txt)" : " (file names in its metadata 'files')");
        return 0;
    }

    /** NumPy's .npy format, version 1.0: magic, header dict padded to 64 bytes, little-endian float32 data. */
    static void writeNpy(OutputStream o, float[] data, int rows, int cols) throws IOException {
        String dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + rows + ", " + cols + "), }";
        int unpadded = 10 + dict.length() + 1;
        String header = dict + " ".repeat((64 - unpadded % 64) % 64) + "\n";
        o.write(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0});
        o.write(ByteBuffer.allocate(2).order(ByteOrder.LITTLE_ENDIAN).putShort((short) header.length()).array());
        o.write(header.getBytes(StandardCharsets.US_ASCII));
        ByteBuffer buf = ByteBuffer.allocate(data.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        buf.asFloatBuffer().put(data);
        o.write(buf.array());
    }
}
