package org.ibot4j.trainer.data;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.ibot4j.trainer.data.shards.TarReader;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * WebDataset shards: tar archives whose members are grouped into samples by key (the member's name up
 * to the first dot of its file name, as webdataset splits it), each sample an image member
 * ({@code KEY.jpg}, {@code .jpeg}, {@code .png}, {@code .webp}, {@code .bmp}, {@code .gif}) and an
 * optional {@code KEY.cls} holding its class as decimal text. Other members ({@code .json}, {@code .txt})
 * are passed over; a key with no image is skipped and counted. A truncated archive is read up to its
 * last whole sample, with a warning naming the shard and where it breaks off.
 */
public final class WebDatasetSource extends ShardedImageSource {
    private static final Logger LOG = LoggerFactory.getLogger(WebDatasetSource.class);
    private static final List<String> IMAGE_EXTENSIONS = List.of("jpg", "jpeg", "png", "webp", "bmp", "gif");

    public WebDatasetSource(List<Path> shards, int shuffleBuffer) throws IOException {
        super(shards, shuffleBuffer);
        countShards();
    }

    @Override
    public String format() {
        return "WebDataset";
    }

    @Override
    protected Count count(Path shard) throws IOException {
        try (Samples samples = new Samples(shard, false)) {
            int n = 0, maxLabel = -1;
            for (Sample s = samples.next(); s != null; s = samples.next()) {
                n++;
                maxLabel = Math.max(maxLabel, s.label());
            }
            if (samples.tar.damage() != null) {
                if (n == 0 && samples.members == 0) throw new IOException(shard + ": " + samples.tar.damage());
                LOG.warn("{} is damaged ({}): reading its first {} whole sample(s) only", shard, samples.tar.damage(), n);
            }
            if (samples.withoutImage > 0) {
                LOG.warn("{}: {} key(s) have no image member ({}) and are skipped", shard, samples.withoutImage, String.join(", ", IMAGE_EXTENSIONS));
            }
            if (samples.badLabels > 0) LOG.warn("{}: {} .cls member(s) are not a class number; those samples are unlabelled", shard, samples.badLabels);
            return new Count(n, maxLabel);
        }
    }

    @Override
    public SampleReader read(Path shard) throws IOException {
        return new Samples(shard, true);
    }

    /** The key and extension of a member name: "a/b/c.seg.png" is key "a/b/c", extension "seg.png". */
    static String[] split(String name) {
        int slash = name.lastIndexOf('/');
        int dot = name.indexOf('.', slash + 1);
        if (dot < 0) return new String[] {name, ""};
        return new String[] {name.substring(0, dot), name.substring(dot + 1).toLowerCase(Locale.ROOT)};
    }

    /** The samples of one archive; with {@code images} false, image bytes are skipped (counting). */
    private static final class Samples implements SampleReader {
        final TarReader tar;
        private final boolean images;
        private final String shardName;
        private TarReader.Member pending;
        private boolean ended;
        int members, withoutImage, badLabels;

        Samples(Path shard, boolean images) throws IOException {
            this.tar = new TarReader(shard);
            this.images = images;
            this.shardName = shard.getFileName().toString();
        }

        @Override
        public Sample next() throws IOException {
            while (!ended) {
                TarReader.Member m = pending != null ? pending : tar.next();
                pending = null;
                if (m == null) break;
                String key = split(m.name())[0];
                String imageName = null;
                byte[] image = null;
                int label = -1;
                do {
                    members++;
                    String ext = split(m.name())[1];
                    if (imageName == null && IMAGE_EXTENSIONS.contains(ext)) {
                        imageName = m.name();
                        if (images) image = tar.read();
                        if (images && image == null) break;
                    } else if (ext.equals("cls")) {
                        byte[] text = tar.read();
                        if (text == null) break;
                        label = parseLabel(text);
                    }
                    m = tar.next();
                } while (m != null && split(m.name())[0].equals(key));
                pending = m;
                // A sample cut off by damage may miss members: it is dropped, and nothing after it is read.
                if (tar.damage() != null) break;
                if (imageName == null) {
                    withoutImage++;
                    continue;
                }
                return new Sample(image, label, shardName + ":" + imageName);
            }
            ended = true;
            return null;
        }

        private int parseLabel(byte[] text) {
            try {
                int label = Integer.parseInt(new String(text, StandardCharsets.UTF_8).strip());
                if (label >= 0) return label;
            } catch (NumberFormatException e) {
                // counted below
            }
            badLabels++;
            return -1;
        }

        @Override
        public void close() throws IOException {
            tar.close();
        }
    }
}
