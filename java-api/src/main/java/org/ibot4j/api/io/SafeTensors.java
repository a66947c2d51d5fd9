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
import java.util.Arrays;
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
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
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
                String dtype = node.get("dtype").asText();
                int width = elementBytes(dtype);
                long numel = 1;
                for (long d : shape) {
                    if (d < 0 || (d > 0 && numel > Long.MAX_VALUE / d)) {
                        numel = -1;
                        break;
                    }
                    numel *= d;
                }
                if (width > 0 && (numel < 0 || numel > (end - begin) / width || numel * width != end - begin)) {
                    throw new IOException(file + ": tensor " + field.getKey() + " declares shape " + Arrays.toString(shape) + " of " + dtype
                            + " but holds " + (end - begin) + " bytes");
                }
                entries.put(field.getKey(), new Entry(dtype, shape, all.asSlice(dataStart + begin, end - begin)));
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

    /** A bfloat16 (the upper half of a float32) as float32, exactly. */
    static float bfloat16(short bits) {
        return Float.intBitsToFloat((bits & 0xffff) << 16);
    }

    /** Bytes per element of a safetensors dtype, 0 for one ibot4j does not know. */
    private static int elementBytes(String dtype) {
        return switch (dtype) {
            case "F64", "I64", "U64" -> 8;
            case "F32", "I32", "U32" -> 4;
            case "F16", "BF16", "I16", "U16" -> 2;
            case "I8", "U8", "BOOL", "F8_E4M3", "F8_E5M2" -> 1;
            default -> 0;
        };
    }

    /** Whether {@link #floats} reads this dtype: F32, and F16, BF16 and F64 widened or narrowed to float32 (as .pth files are). */
    public static boolean isFloating(String dtype) {
        return switch (dtype) {
            case "F32", "F16", "BF16", "F64" -> true;
            default -> false;
        };
    }

    /**
     * A floating-point tensor as float32 in a Java array (F16 and BF16 widened exactly, F64 rounded).
     *
     * @param name its name in the header
     * @return its values, row-major
     * @throws IllegalArgumentException for an integer or boolean tensor, or one of 2^31 values or more
     */
    public float[] floats(String name) {
        Entry e = entry(name);
        if (!isFloating(e.dtype())) throw new IllegalArgumentException(name + " is " + e.dtype() + ", not a floating-point tensor");
        if (e.numel() > Integer.MAX_VALUE - 8) throw new IllegalArgumentException(name + " has " + e.numel() + " values, more than a Java array holds");
        float[] out = new float[(int) e.numel()];
        MemorySegment data = e.data();
        switch (e.dtype()) {
            case "F32" -> MemorySegment.copy(data, F32, 0, out, 0, out.length);
            case "F16" -> {
                for (int i = 0; i < out.length; i++) out[i] = Float.float16ToFloat(data.getAtIndex(I16, i));
            }
            case "BF16" -> {
                for (int i = 0; i < out.length; i++) out[i] = bfloat16(data.getAtIndex(I16, i));
            }
            default -> {
                for (int i = 0; i < out.length; i++) out[i] = (float) data.getAtIndex(F64, i);
            }
        }
        return out;
    }

    /** Unmaps the file; entries' data is unusable afterwards. */
    @Override
    public void close() {
        arena.close();
    }
}
