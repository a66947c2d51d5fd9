package org.ibot4j.trainer.data;

import static org.ibot4j.bindings.turbojpeg.TurboJpegC.TJCS_CMYK;
import static org.ibot4j.bindings.turbojpeg.TurboJpegC.TJCS_GRAY;
import static org.ibot4j.bindings.turbojpeg.TurboJpegC.TJCS_YCCK;
import static org.ibot4j.bindings.turbojpeg.TurboJpegC.TJFLAG_ACCURATEDCT;
import static org.ibot4j.bindings.turbojpeg.TurboJpegC.TJPF_GRAY;
import static org.ibot4j.bindings.turbojpeg.TurboJpegC.TJPF_RGBX;

import java.io.IOException;
import java.nio.ByteOrder;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import org.ibot4j.bindings.turbojpeg.TurboJpegC;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * libjpeg-turbo's TurboJPEG library ({@code libturbojpeg.so.0}, Debian's libturbojpeg0), looked up by
 * name the first time a JPEG is decoded. Without it, or with {@code -Dibot4j.turbojpeg=false}, JPEGs are
 * decoded by ImageIO (one log line says so and how to install it). Every call gets its own decompressor
 * and confined arena, freed before it returns, so any thread may call at any time.
 */
public final class TurboJpeg {
    /** The shared library, by its soname: found through the system's library search path (ldconfig). */
    public static final String LIBRARY = "libturbojpeg.so.0";
    /** {@code -Dibot4j.turbojpeg=false} decodes every JPEG with ImageIO (for comparisons and tests). */
    public static final String DISABLE_PROPERTY = "ibot4j.turbojpeg";
    private static final Logger LOG = LoggerFactory.getLogger(TurboJpeg.class);
    private static volatile Availability availability;

    /** Whether the library is used, and in words what was found, for logs and {@code ibot4j doctor}. */
    public record Availability(boolean usable, String description) {}

    /** A JPEG's header: full size and colour space (a TJCS_ constant). */
    record Header(int width, int height, int colourspace) {}

    private TurboJpeg() {}

    public static boolean usable() {
        return availability().usable();
    }

    public static Availability availability() {
        Availability a = availability;
        if (a == null) {
            synchronized (TurboJpeg.class) {
                if (availability == null) availability = probe(LIBRARY);
                a = availability;
            }
        }
        return a;
    }

    /** Looks for {@code library} (by name) unless disabled; logs once when it is missing. */
    static Availability probe(String library) {
        if ("false".equalsIgnoreCase(System.getProperty(DISABLE_PROPERTY))) {
            return new Availability(false, "disabled by -D" + DISABLE_PROPERTY + "=false; JPEGs are decoded by ImageIO");
        }
        try {
            // The generated bindings open the library in their static initialiser and would fail there
            // with an opaque error: check first, with the same lookup by name.
            SymbolLookup.libraryLookup(library, Arena.global()).findOrThrow("tjDecompress2");
            if (library.equals(LIBRARY)) TurboJpegC.TJPF_RGB();  // loads the bindings, which open it by the same name
            return new Availability(true, library + " found: JPEGs are decoded by libjpeg-turbo, scaled by the DCT when the crops allow");
        } catch (IllegalArgumentException | java.util.NoSuchElementException | LinkageError e) {
            String message = library + " not found by the system's library search path (" + e.getMessage()
                    + "); JPEGs are decoded by ImageIO, several times slower. Install it with: apt-get install libturbojpeg0";
            LOG.warn(message);
            return new Availability(false, message);
        }
    }

    /** Whether {@code bytes} start like a JPEG (SOI marker followed by another marker). */
    static boolean isJpeg(byte[] bytes) {
        return bytes.length >= 3 && (bytes[0] & 0xff) == 0xFF && (bytes[1] & 0xff) == 0xD8 && (bytes[2] & 0xff) == 0xFF;
    }

    static Header header(byte[] jpeg, String name) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment handle = TurboJpegC.tjInitDecompress();
            if (handle.equals(MemorySegment.NULL)) throw new IOException(name + ": libjpeg-turbo could not create a decompressor");
            try {
                MemorySegment src = arena.allocateFrom(ValueLayout.JAVA_BYTE, jpeg);
                MemorySegment ints = arena.allocate(ValueLayout.JAVA_INT, 4);
                int rc = TurboJpegC.tjDecompressHeader3(handle, src, jpeg.length, ints, ints.asSlice(4), ints.asSlice(8), ints.asSlice(12));
                if (rc != 0) throw new IOException(name + ": damaged JPEG header (" + error(handle) + ")");
                int w = ints.getAtIndex(ValueLayout.JAVA_INT, 0), h = ints.getAtIndex(ValueLayout.JAVA_INT, 1);
                int colourspace = ints.getAtIndex(ValueLayout.JAVA_INT, 3);
                if (w <= 0 || h <= 0) throw new IOException(name + ": JPEG header declares " + w + " x " + h + " pixels");
                if (colourspace == TJCS_CMYK() || colourspace == TJCS_YCCK()) {
                    throw new IOException(name + ": " + org.ibot4j.api.image.ImageReading.CMYK_REFUSED);
                }
                return new Header(w, h, colourspace);
            } finally {
                TurboJpegC.tjDestroy(handle);
            }
        }
    }

    /**
     * Decodes at {@code 1 / denominator} of the full size (1, 2, 4 or 8: the IDCT computes the smaller
     * image directly), as TurboJPEG rounds it: {@code ceil(size / denominator)}. Any decoder warning (a
     * truncated or corrupt stream) is a failure, as with ImageIO.
     */
    static RgbImage decode(byte[] jpeg, Header header, int denominator, String name) throws IOException {
        int w = scaled(header.width(), denominator), h = scaled(header.height(), denominator);
        boolean grey = header.colourspace() == TJCS_GRAY();
        // Colour as RGBX: one int per pixel, which the conversion loops read without a stride of 3.
        int bytesPerPixel = grey ? 1 : 4;
        byte[] levels = grey ? new byte[w * h] : null;
        int[] rgbx = grey ? null : new int[w * h];
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment handle = TurboJpegC.tjInitDecompress();
            if (handle.equals(MemorySegment.NULL)) throw new IOException(name + ": libjpeg-turbo could not create a decompressor");
            try {
                MemorySegment src = arena.allocateFrom(ValueLayout.JAVA_BYTE, jpeg);
                MemorySegment dst = arena.allocate((long) w * h * bytesPerPixel, 4);
                // PIL decodes with libjpeg's default accurate integer IDCT; so does this flag.
                int rc = TurboJpegC.tjDecompress2(handle, src, jpeg.length, dst, w, w * bytesPerPixel, h, grey ? TJPF_GRAY() : TJPF_RGBX(),
                        TJFLAG_ACCURATEDCT());
                if (rc != 0) throw new IOException(name + ": damaged JPEG (" + error(handle) + ")");
                if (grey) MemorySegment.copy(dst, ValueLayout.JAVA_BYTE, 0, levels, 0, levels.length);
                else MemorySegment.copy(dst, ValueLayout.JAVA_INT.withOrder(ByteOrder.LITTLE_ENDIAN), 0, rgbx, 0, rgbx.length);
            } finally {
                TurboJpegC.tjDestroy(handle);
            }
        }
        return grey ? RgbImage.fromGrey(levels, w, h) : RgbImage.fromRgbx(rgbx, w, h);
    }

    /** TurboJPEG's TJSCALED for a factor 1 / denominator. */
    static int scaled(int size, int denominator) {
        return (size + denominator - 1) / denominator;
    }

    private static String error(MemorySegment handle) {
        MemorySegment text = TurboJpegC.tjGetErrorStr2(handle);
        return text.equals(MemorySegment.NULL) ? "no message" : text.reinterpret(1024).getString(0);
    }
}
