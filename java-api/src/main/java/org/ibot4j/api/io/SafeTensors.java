package org.ibot4j.api.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Reads a safetensors file (8-byte little-endian header length, JSON header, raw little-endian data)
 * by mapping it: tensors are native segments of the file, usable by native calls without a copy.
 * Closing releases the mapping.
 */
public final class SafeTensors implements AutoCloseable {
    /**
     * One tensor of the file.
     *
     * @param dtype as written in the header (F32, U8, ...)
     * @param shape its sizes
     * @param data its bytes, a read-only view of the mapped file
     */
    public record Entry(String dtype, long[] shape, MemorySegment data) {
        /**
         * Number of elements.
         *
         * @return the product of the shape
         */
        public long numel() {
            long n = 1;
            for (long s : shape) n *= s;
            return n;
        }
    }

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private final Arena arena;
    private final Map<String, Entry> entries;
    private final Map<String, String> metadata;

    private SafeTensors(Arena arena, Map<String, Entry> entries, Map<String, String> metadata) {
        this.arena = arena;
        this.entries = entries;
        this.metadata = metadata;
    }

    /**
     * Maps a file and parses its header.
     *
     * @param file a .safetensors file
     * @return the open file; close it to unmap
     * @throws IOException when the file is unreadable or not safetensors
     */
    public static SafeTensors open(Path file) throws IOException {
        Arena arena = Arena.ofConfined();
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            MemorySegment all = channel.map(FileChannel.MapMode.READ_ONLY, 0, channel.size(), arena);
            if (all.byteSize() < 8) throw new IOException(file + " is too short for a safetensors file");
            long headerLength = all.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
            if (headerLength <= 0 || 8 + headerLength > all.byteSize()) {
                throw new IOException(file + " has an invalid safetensors header length " + headerLength);
            }
            byte[] headerBytes = all.asSlice(8, headerLength).toArray(ValueLayout.JAVA_BYTE);
            JsonNode header = new ObjectMapper().readTree(new String(headerBytes, StandardCharsets.UTF_8));
            long dataStart = 8 + headerLength;
            Map<String, Entry> entries = new LinkedHashMap<>();
            Map<String, String> metadata = new LinkedHashMap<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> field = it.next();
                if (field.getKey().equals("__metadata__")) {
                    field.getValue().fields().forEachRemaining(m -> metadata.put(m.getKey(), m.getValue().asText()));
                    continue;
                }
                JsonNode node = field.getValue();
                long[] shape = new long[node.get("shape").size()];
                for (int i = 0; i < shape.length; i++) shape[i] = node.get("shape").get(i).asLong();
                long begin = node.get("data_offsets").get(0).asLong(), end = node.get("data_offsets").get(1).asLong();
                if (begin < 0 || end < begin || dataStart + end > all.byteSize()) {
                    throw new IOException(file + ": tensor " + field.getKey() + " lies outside the file");
                }
                entries.put(field.getKey(), new Entry(node.get("dtype").asText(), shape, all.asSlice(dataStart + begin, end - begin)));
            }
            return new SafeTensors(arena, Collections.unmodifiableMap(entries), Collections.unmodifiableMap(metadata));
        } catch (IOException | RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /**
     * The header's {@code __metadata__} entries.
     *
     * @return key to value (empty when the file has none)
     */
    public Map<String, String> metadata() {
        return metadata;
    }

    /**
     * Every tensor by name.
     *
     * @return name to entry, in header order
     */
    public Map<String, Entry> entries() {
        return entries;
    }

    /**
     * One tensor.
     *
     * @param name its name in the header
     * @return the entry
     * @throws IllegalArgumentException when there is none of that name
     */
    public Entry entry(String name) {
        Entry e = entries.get(name);
        if (e == null) throw new IllegalArgumentException("no tensor '" + name + "' in this safetensors file");
        return e;
    }

    /**
     * A float32 tensor copied to a Java array.
     *
     * @param name its name in the header
     * @return its values, row-major
     */
    public float[] floats(String name) {
        Entry e = entry(name);
        if (!e.dtype().equals("F32")) throw new IllegalArgumentException(name + " is " + e.dtype() + ", not F32");
        float[] out = new float[(int) e.numel()];
        MemorySegment.copy(e.data(), F32, 0, out, 0, out.length);
        return out;
    }

    /** Unmaps the file; entries' data is unusable afterwards. */
    @Override
    public void close() {
        arena.close();
    }
}
