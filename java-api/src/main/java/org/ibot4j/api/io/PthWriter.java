package org.ibot4j.api.io;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.util.List;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * Writes a state_dict ({@code OrderedDict[str, Tensor]}, float32) in PyTorch's zip format, using only
 * what {@code torch.load(weights_only=True)} accepts: {@code collections.OrderedDict},
 * {@code torch._utils._rebuild_tensor_v2} and {@code torch.FloatStorage}, as {@code torch.save} writes them.
 */
public final class PthWriter {
    private static final String ARCHIVE = "archive";
    private static final int ALIGNMENT = 64;  // torch.save aligns tensor data to 64 bytes
    // A local date time, so the time zone cannot change the stored value; not 1980-01-01 00:00, which
    // ZipEntry takes for "before 1980" and then adds an extended-time field that breaks the alignment.
    private static final LocalDateTime FIXED_TIME = LocalDateTime.of(1980, 2, 1, 0, 0);

    private PthWriter() {}

    /**
     * Replaces {@code file} atomically (see {@link AtomicFiles}) with the state_dict of {@code tensors}, in order.
     * The same tensors always give the same bytes.
     */
    public static void write(Path file, List<NamedTensor> tensors) throws IOException {
        write(file, tensors, null);
    }

    /**
     * As {@link #write(Path, List)}, with {@code metadata} (JSON, or null for none) as the zip record
     * {@code archive/ibot4j.json}, which {@code torch.load} does not read.
     */
    public static void write(Path file, List<NamedTensor> tensors, String metadata) throws IOException {
        AtomicFiles.write(file, out -> write(out, tensors, metadata));
    }

    /** Writes the state_dict of {@code tensors} to {@code out}, which stays open. */
    public static void write(OutputStream out, List<NamedTensor> tensors) throws IOException {
        write(out, tensors, null);
    }

    private static void write(OutputStream out, List<NamedTensor> tensors, String metadata) throws IOException {
        try (CountingOutputStream counting = new CountingOutputStream(out);
                ZipOutputStream zip = new ZipOutputStream(counting)) {
            zip.setLevel(0);
            stored(zip, counting, ARCHIVE + "/data.pkl", pickle(tensors));
            stored(zip, counting, ARCHIVE + "/byteorder", "little".getBytes(StandardCharsets.US_ASCII));
            for (int i = 0; i < tensors.size(); i++) {
                float[] data = tensors.get(i).data();
                ByteArrayOutputStream bytes = new ByteArrayOutputStream(data.length * Float.BYTES);
                SafeTensorsWriter.writeLittleEndian(bytes, data, 0, data.length);
                stored(zip, counting, ARCHIVE + "/data/" + i, bytes.toByteArray());
            }
            if (metadata != null) stored(zip, counting, ARCHIVE + "/" + BackboneMetadata.KEY + ".json", metadata.getBytes(StandardCharsets.UTF_8));
            stored(zip, counting, ARCHIVE + "/version", "3\n".getBytes(StandardCharsets.US_ASCII));
        }
    }

    /** Protocol-2 pickle of the OrderedDict; storage i holds tensor i's data. */
    static byte[] pickle(List<NamedTensor> tensors) {
        Pickle p = new Pickle();
        p.op(0x80).op(2);                                   // PROTO 2
        p.global("collections", "OrderedDict").op(')').op('R');  // OrderedDict()
        p.op('(');                                          // MARK for SETITEMS
        for (int i = 0; i < tensors.size(); i++) {
            NamedTensor t = tensors.get(i);
            p.unicode(t.name());
            p.global("torch._utils", "_rebuild_tensor_v2");
            p.op('(');
            // persistent id ('storage', torch.FloatStorage, key, 'cpu', numel)
            p.op('(').unicode("storage").global("torch", "FloatStorage").unicode(Integer.toString(i)).unicode("cpu")
                    .integer(t.data().length).op('t').op('Q');
            p.integer(0);                                   // storage offset
            p.tuple(t.shape());
            p.tuple(contiguousStrides(t.shape()));
            p.op(0x89);                                     // requires_grad False
            p.global("collections", "OrderedDict").op(')').op('R');  // backward hooks
            p.op('t').op('R');
        }
        p.op('u').op('.');                                  // SETITEMS, STOP
        return p.bytes();
    }

    private static long[] contiguousStrides(long[] shape) {
        long[] strides = new long[shape.length];
        long s = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            strides[i] = s;
            s *= shape[i];
        }
        return strides;
    }

    private static void stored(ZipOutputStream zip, CountingOutputStream counting, String name, byte[] data) throws IOException {
        ZipEntry entry = new ZipEntry(name);
        // Otherwise the entry carries the current time and equal weights give different files.
        entry.setTimeLocal(FIXED_TIME);
        entry.setMethod(ZipEntry.STORED);
        entry.setSize(data.length);
        entry.setCompressedSize(data.length);
        CRC32 crc = new CRC32();
        crc.update(data);
        entry.setCrc(crc.getValue());
        // Pad the local header's extra field so the data starts on a 64-byte boundary.
        long headerEnd = counting.count() + 30 + name.getBytes(StandardCharsets.UTF_8).length + 4;
        int pad = (int) ((ALIGNMENT - headerEnd % ALIGNMENT) % ALIGNMENT);
        byte[] extra = new byte[4 + pad];
        extra[0] = 'F';
        extra[1] = 'B';
        extra[2] = (byte) (pad & 0xff);
        extra[3] = (byte) (pad >> 8);
        entry.setExtra(extra);
        zip.putNextEntry(entry);
        zip.write(data);
        zip.closeEntry();
    }

    /** The few pickle opcodes a state_dict needs. */
    private static final class Pickle {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Pickle op(int code) {
            out.write(code);
            return this;
        }

        Pickle global(String module, String name) {
            op('c');
            out.writeBytes((module + "\n" + name + "\n").getBytes(StandardCharsets.US_ASCII));
            return this;
        }

        Pickle unicode(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            op('X');
            le32(b.length);
            out.writeBytes(b);
            return this;
        }

        Pickle integer(long v) {
            if (v >= 0 && v < (1L << 31)) {
                op('J');
                le32((int) v);
            } else {
                op(0x8a).op(8);                             // LONG1 with 8 bytes
                for (int i = 0; i < 8; i++) out.write((int) (v >>> (8 * i)) & 0xff);
            }
            return this;
        }

        Pickle tuple(long[] values) {
            op('(');
            for (long v : values) integer(v);
            return op('t');
        }

        private void le32(int v) {
            for (int i = 0; i < 4; i++) out.write((v >>> (8 * i)) & 0xff);
        }

        byte[] bytes() {
            return out.toByteArray();
        }
    }
}
