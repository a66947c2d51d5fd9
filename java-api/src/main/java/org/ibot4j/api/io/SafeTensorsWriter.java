package org.ibot4j.api.io;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Writes float32 tensors as a safetensors file (header padded to 8 bytes, tensors in the given order).
 * The header lists {@code __metadata__} first (keys sorted), then the tensors in the given order, so the
 * same tensors and metadata always give the same bytes.
 */
public final class SafeTensorsWriter {
    private SafeTensorsWriter() {}

    /** Replaces {@code file} atomically (see {@link AtomicFiles}) with {@code tensors} and {@code metadata}. */
    public static void write(Path file, List<NamedTensor> tensors, Map<String, String> metadata) throws IOException {
        byte[] header = header(tensors, metadata);
        AtomicFiles.write(file, out -> write(out, header, tensors));
    }

    /** Writes {@code tensors} and {@code metadata} in safetensors format to {@code out}, which stays open. */
    public static void write(OutputStream out, List<NamedTensor> tensors, Map<String, String> metadata) throws IOException {
        write(out, header(tensors, metadata), tensors);
    }

    private static void write(OutputStream out, byte[] header, List<NamedTensor> tensors) throws IOException {
        out.write(header);
        for (NamedTensor t : tensors) out.write(littleEndian(t.data()));
    }

    /** Length prefix, JSON header and padding; checked before anything is written. */
    private static byte[] header(List<NamedTensor> tensors, Map<String, String> metadata) throws IOException {
        ObjectMapper json = new ObjectMapper();
        ObjectNode header = json.createObjectNode();  // keeps insertion order
        if (!metadata.isEmpty()) {
            ObjectNode meta = header.putObject("__metadata__");
            // Map.of and HashMap iterate in an order that changes between runs.
            new TreeMap<>(metadata).forEach(meta::put);
        }
        long offset = 0;
        for (NamedTensor t : tensors) {
            if (header.has(t.name()) || t.name().equals("__metadata__")) {
                throw new IllegalArgumentException("tensor name '" + t.name() + "' is used twice or is reserved");
            }
            ObjectNode entry = header.putObject(t.name());
            entry.put("dtype", "F32");
            var shape = entry.putArray("shape");
            for (long s : t.shape()) shape.add(s);
            var offsets = entry.putArray("data_offsets");
            offsets.add(offset);
            offset += (long) t.data().length * Float.BYTES;
            offsets.add(offset);
        }
        byte[] headerBytes = json.writeValueAsString(header).getBytes(StandardCharsets.UTF_8);
        int padded = (headerBytes.length + 7) / 8 * 8;
        ByteBuffer buf = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN).putLong(padded).put(headerBytes);
        while (buf.hasRemaining()) buf.put((byte) ' ');
        return buf.array();
    }

    static byte[] littleEndian(float[] values) {
        ByteBuffer buf = ByteBuffer.allocate(values.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        buf.asFloatBuffer().put(values);
        return buf.array();
    }
}
