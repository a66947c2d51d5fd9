package org.ibot4j.api.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * Reads a file written by {@code torch.save} (zip format) without running any of its code: tensors
 * become {@link NamedTensor}-ready float arrays, dicts Maps, other objects inert placeholders.
 * Floating-point storages (float, double, half, bfloat16) are read as float32; integer tensors are
 * returned as {@link OtherTensor} and otherwise ignored.
 */
public final class PthReader {
    /**
     * A float tensor read from a checkpoint.
     *
     * @param shape its sizes
     * @param data its values as float32, row-major
     */
    public record FloatTensor(long[] shape, float[] data) {}

    /**
     * A tensor of a dtype ibot4j does not use (integers, bools).
     *
     * @param storageType PyTorch's storage class name, e.g. LongStorage
     * @param shape its sizes
     */
    public record OtherTensor(String storageType, long[] shape) {}

    private record Storage(String type, String key, long numel) {}

    private PthReader() {}

    /** The unpickled top-level object. */
    public static Object read(Path file) throws IOException {
        // torch.save's zip records a CRC-32 per entry, which nothing else checks: a flipped bit in a tensor
        // is refused here instead of imported.
        ZipIntegrity.verify(file);
        try (ZipFile zip = new ZipFile(file.toFile())) {
            ZipEntry pkl = zip.stream().filter(e -> e.getName().endsWith("/data.pkl") || e.getName().equals("data.pkl"))
                    .findFirst().orElseThrow(() -> new IOException(file + " has no data.pkl: not a torch.save zip file"));
            String prefix = pkl.getName().substring(0, pkl.getName().length() - "data.pkl".length());
            byte[] pickle = zip.getInputStream(pkl).readAllBytes();
            return new PickleReader(pickle, new PickleReader.Resolver() {
                @Override
                public Object persistent(Object pid) throws IOException {
                    List<Object> id = ((PickleReader.Tuple) pid).items();
                    if (!"storage".equals(id.get(0))) throw new IOException("unknown persistent id " + id.get(0));
                    String type = ((PickleReader.Global) id.get(1)).name();
                    return new Storage(type, (String) id.get(2), ((Number) id.get(4)).longValue());
                }

                @Override
                public Object call(PickleReader.Global g, List<Object> args) throws IOException {
                    if (!g.qualified().equals("torch._utils._rebuild_tensor_v2")) return null;
                    Storage storage = (Storage) args.get(0);
                    long offset = ((Number) args.get(1)).longValue();
                    long[] shape = longs(args.get(2)), stride = longs(args.get(3));
                    int elementSize = elementSize(storage.type());
                    if (elementSize == 0) return new OtherTensor(storage.type(), shape);
                    ZipEntry entry = zip.getEntry(prefix + "data/" + storage.key());
                    if (entry == null) throw new IOException(file + " lacks the data of storage " + storage.key());
                    ByteBuffer bytes = ByteBuffer.wrap(zip.getInputStream(entry).readAllBytes()).order(ByteOrder.LITTLE_ENDIAN);
                    return new FloatTensor(shape, gather(bytes, storage.type(), offset, shape, stride));
                }
            }).read();
        }
    }

    /** Flattens nested dicts of tensors into "a.b.c" names (floating tensors only). */
    public static Map<String, FloatTensor> floatTensors(Object root) {
        Map<String, FloatTensor> out = new LinkedHashMap<>();
        collect("", root, out);
        return out;
    }

    private static void collect(String prefix, Object node, Map<String, FloatTensor> out) {
        if (node instanceof FloatTensor t) {
            out.put(prefix, t);
        } else if (node instanceof Map<?, ?> m) {
            for (Map.Entry<?, ?> e : m.entrySet()) {
                if (e.getKey() instanceof String k) collect(prefix.isEmpty() ? k : prefix + "." + k, e.getValue(), out);
            }
        }
    }

    private static long[] longs(Object tuple) {
        List<Object> items = ((PickleReader.Tuple) tuple).items();
        long[] out = new long[items.size()];
        for (int i = 0; i < out.length; i++) out[i] = ((Number) items.get(i)).longValue();
        return out;
    }

    private static int elementSize(String type) {
        return switch (type) {
            case "FloatStorage" -> 4;
            case "DoubleStorage" -> 8;
            case "HalfStorage", "BFloat16Storage" -> 2;
            default -> 0;
        };
    }

    private static float[] gather(ByteBuffer bytes, String type, long offset, long[] shape, long[] stride) {
        long n = 1;
        for (long s : shape) n *= s;
        float[] out = new float[Math.toIntExact(n)];
        long[] index = new long[shape.length];
        for (int i = 0; i < out.length; i++) {
            long element = offset;
            for (int d = 0; d < shape.length; d++) element += index[d] * stride[d];
            out[i] = value(bytes, type, element);
            for (int d = shape.length - 1; d >= 0; d--) {
                if (++index[d] < shape[d]) break;
                index[d] = 0;
            }
        }
        return out;
    }

    private static float value(ByteBuffer b, String type, long element) {
        return switch (type) {
            case "FloatStorage" -> b.getFloat(Math.toIntExact(element * 4));
            case "DoubleStorage" -> (float) b.getDouble(Math.toIntExact(element * 8));
            case "HalfStorage" -> Float.float16ToFloat(b.getShort(Math.toIntExact(element * 2)));
            default -> SafeTensors.bfloat16(b.getShort(Math.toIntExact(element * 2)));
        };
    }
}
