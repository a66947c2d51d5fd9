package org.ibot4j.trainer.eval.viz;

import java.awt.image.RenderedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Iterator;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriter;
import javax.imageio.stream.ImageOutputStream;
import javax.imageio.stream.MemoryCacheImageOutputStream;

/**
 * PNG encoding in memory, the one way ibot4j makes PNGs. {@code ImageIO.write} to a stream caches
 * through a file in {@code java.io.tmpdir} by default: a full or missing temporary folder then stops
 * a run that has room for its output, a kill leaves {@code imageio*.tmp} behind, and a full disk shows
 * as ImageIO's "I/O error writing PNG file!". Encoding into memory and writing the bytes with
 * {@link org.ibot4j.api.io.AtomicFiles} leaves the file system's own error ("No space left on device")
 * as the one a user sees, and changes no global ImageIO setting.
 */
public final class Png {
    private Png() {}

    /**
     * The PNG bytes of {@code image}.
     *
     * @param image any image ImageIO's PNG writer takes
     * @return the encoded file
     */
    public static byte[] encode(RenderedImage image) {
        Iterator<ImageWriter> writers = ImageIO.getImageWritersByFormatName("png");
        if (!writers.hasNext()) throw new IllegalStateException("no PNG writer in this JDK");
        ImageWriter writer = writers.next();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ImageOutputStream out = new MemoryCacheImageOutputStream(bytes)) {
            writer.setOutput(out);
            writer.write(image);
        } catch (IOException e) {
            throw new UncheckedIOException("encoding a PNG in memory failed", e);  // no file is involved: a bug, not the disk
        } finally {
            writer.dispose();
        }
        return bytes.toByteArray();
    }
}
