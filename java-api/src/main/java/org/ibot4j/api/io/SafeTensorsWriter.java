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
        for (NamedTensor t : tensors) writeLittleEndian(out, t.data(), 0, t.data().length);
    }

    private static byte[] header(List<NamedTensor> tensors, Map<String, String> metadata) throws IOException {
        Map<String, long[]> shapes = new java.util.LinkedHashMap<>();
        for (NamedTensor t : tensors) {
            if (shapes.containsKey(t.name()) || t.name().equals("__metadata__")) {
                throw new IllegalArgumentException("tensor name '" + t.name() + "' is used twice or is reserved");
            }
            shapes.put(t.name(), t.shape());
        }
        return header(shapes, metadata);
    }

    /**
     * The bytes that precede the data of float32 tensors of these shapes (in this order): length prefix,
     * JSON header and padding. With it a caller streams tensors larger than one Java array, writing each
     * one's little-endian floats after it in the same order.
     */
    public static byte[] header(Map<String, long[]> shapes, Map<String, String> metadata) throws IOException {
        ObjectMapper json = new ObjectMapper();
        ObjectNode header = json.createObjectNode();  // keeps insertion order
        if (!metadata.isEmpty()) {
            ObjectNode meta = header.putObject("__metadata__");
            // Map.of and HashMap iterate in an order that changes between runs.
            new TreeMap<>(metadata).forEach(meta::put);
        }
        long offset = 0;
        for (Map.Entry<String, long[]> t : shapes.entrySet()) {
            if (t.getKey().equals("__metadata__")) throw new IllegalArgumentException("tensor name '__metadata__' is reserved");
            ObjectNode entry = header.putObject(t.getKey());
            entry.put("dtype", "F32");
            var shape = entry.putArray("shape");
            long numel = 1;
            for (long s : t.getValue()) {
                shape.add(s);
                numel = Math.multiplyExact(numel, s);
            }
            var offsets = entry.putArray("data_offsets");
            offsets.add(offset);
            offset = Math.addExact(offset, Math.multiplyExact(numel, Float.BYTES));
            offsets.add(offset);
        }
        byte[] headerBytes = json.writeValueAsString(header).getBytes(StandardCharsets.UTF_8);
        int padded = (headerBytes.length + 7) / 8 * 8;
        ByteBuffer buf = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN).putLong(padded).put(headerBytes);
        while (buf.hasRemaining()) buf.put((byte) ' ');
        return buf.array();
    }

    /** Writes {@code count} floats from {@code offset} little-endian, a bounded buffer at a time (no int overflow at 2^29 floats). */
    public static void writeLittleEndian(OutputStream out, float[] values, int offset, int count) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(Float.BYTES * Math.min(count, 1 << 16)).order(ByteOrder.LITTLE_ENDIAN);
        for (int done = 0; done < count; ) {
            int n = Math.min(count - done, buf.capacity() / Float.BYTES);
            buf.clear();
            buf.asFloatBuffer().put(values, offset + done, n);
            out.write(buf.array(), 0, n * Float.BYTES);
            done += n;
        }
    }
}
