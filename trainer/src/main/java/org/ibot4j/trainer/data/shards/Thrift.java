package org.ibot4j.trainer.data.shards;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Thrift's compact protocol, the encoding of Parquet's footer and page headers: a reader into generic
 * structs (field id to value) and a writer of the fields Parquet needs. Only what Parquet uses.
 */
final class Thrift {
    private static final int BOOL_TRUE = 1, BOOL_FALSE = 2, BYTE = 3, I16 = 4, I32 = 5, I64 = 6, DOUBLE = 7, BINARY = 8, LIST = 9, SET = 10,
            MAP = 11, STRUCT = 12;

    private Thrift() {}

    /** A decoded struct: field ids to Long, Boolean, Double, byte[], List or Struct. */
    record Struct(Map<Integer, Object> fields) {
        long i64(int id, long otherwise) {
            Object v = fields.get(id);
            return v instanceof Long l ? l : otherwise;
        }

        int i32(int id, int otherwise) {
            return (int) i64(id, otherwise);
        }

        String string(int id) {
            Object v = fields.get(id);
            return v instanceof byte[] b ? new String(b, StandardCharsets.UTF_8) : null;
        }

        Struct struct(int id) {
            Object v = fields.get(id);
            return v instanceof Struct s ? s : null;
        }

        boolean bool(int id, boolean otherwise) {
            Object v = fields.get(id);
            return v instanceof Boolean b ? b : otherwise;
        }

        List<?> list(int id) {
            Object v = fields.get(id);
            return v instanceof List<?> l ? l : List.of();
        }

        @SuppressWarnings("unchecked")
        List<Struct> structs(int id) {
            return (List<Struct>) list(id);
        }
    }

    /** Reads compact-protocol values from a byte array. */
    static final class Reader {
        private final byte[] bytes;
        private int at;
        private int depth;

        Reader(byte[] bytes, int offset) {
            this.bytes = bytes;
            this.at = offset;
        }

        int position() {
            return at;
        }

        Struct struct() throws IOException {
            if (++depth > 64) throw new IOException("Thrift structures nested deeper than 64");
            Map<Integer, Object> fields = new HashMap<>();
            int last = 0;
            while (true) {
                int header = u8();
                if (header == 0) break;
                int type = header & 0x0f, delta = header >>> 4;
                int id = delta == 0 ? (int) zigzag(varint()) : last + delta;
                last = id;
                fields.put(id, type == BOOL_TRUE ? Boolean.TRUE : type == BOOL_FALSE ? Boolean.FALSE : value(type));
            }
            depth--;
            return new Struct(fields);
        }

        private Object value(int type) throws IOException {
            return switch (type) {
                case BOOL_TRUE, BOOL_FALSE -> u8() == BOOL_TRUE;
                case BYTE -> (long) (byte) u8();
                case I16, I32, I64 -> zigzag(varint());
                case DOUBLE -> {
                    need(8);
                    long v = 0;
                    for (int i = 7; i >= 0; i--) v = (v << 8) | (bytes[at + i] & 0xff);
                    at += 8;
                    yield Double.longBitsToDouble(v);
                }
                case BINARY -> {
                    long n = varint();
                    if (n < 0 || n > bytes.length - at) throw new IOException("a Thrift string of " + n + " bytes runs past the data");
                    byte[] b = new byte[(int) n];
                    System.arraycopy(bytes, at, b, 0, (int) n);
                    at += (int) n;
                    yield b;
                }
                case LIST, SET -> {
                    int header = u8();
                    long n = header >>> 4;
                    if (n == 15) n = varint();
                    if (n < 0 || n > bytes.length - at) throw new IOException("a Thrift list of " + n + " elements runs past the data");
                    List<Object> list = new ArrayList<>((int) n);
                    for (int i = 0; i < n; i++) list.add(value(header & 0x0f));
                    yield list;
                }
                case MAP -> {
                    long n = varint();
                    if (n < 0 || n > bytes.length - at) throw new IOException("a Thrift map of " + n + " entries runs past the data");
                    int types = n > 0 ? u8() : 0;
                    Map<Object, Object> map = new HashMap<>();
                    for (int i = 0; i < n; i++) map.put(value(types >>> 4), value(types & 0x0f));
                    yield map;
                }
                case STRUCT -> struct();
                default -> throw new IOException("an unknown Thrift type " + type);
            };
        }

        private int u8() throws IOException {
            need(1);
            return bytes[at++] & 0xff;
        }

        private long varint() throws IOException {
            long v = 0;
            for (int shift = 0; shift < 64; shift += 7) {
                int b = u8();
                v |= (long) (b & 0x7f) << shift;
                if ((b & 0x80) == 0) return v;
            }
            throw new IOException("a Thrift varint longer than 10 bytes");
        }

        private void need(int n) throws IOException {
            if (at + n > bytes.length) throw new IOException("the Thrift data ends early");
        }
    }

    static long zigzag(long v) {
        return (v >>> 1) ^ -(v & 1);
    }

    /** Writes compact-protocol structs field by field. */
    static final class Writer {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();
        private final Deque<Integer> lastIds = new ArrayDeque<>();
        private int lastId;

        Writer begin() {
            lastIds.push(lastId);
            lastId = 0;
            return this;
        }

        Writer end() {
            out.write(0);
            lastId = lastIds.pop();
            return this;
        }

        Writer i32(int id, long v) {
            field(id, I32);
            varint(encode(v));
            return this;
        }

        Writer i64(int id, long v) {
            field(id, I64);
            varint(encode(v));
            return this;
        }

        Writer string(int id, String v) {
            field(id, BINARY);
            byte[] b = v.getBytes(StandardCharsets.UTF_8);
            varint(b.length);
            out.writeBytes(b);
            return this;
        }

        /** A struct field: its fields follow, then {@link #end()}. */
        Writer struct(int id) {
            field(id, STRUCT);
            return begin();
        }

        /** A list of {@code n} structs: each is {@link #begin()} ... {@link #end()}. */
        Writer structList(int id, int n) {
            listHeader(id, n, STRUCT);
            return this;
        }

        Writer i32List(int id, List<Integer> values) {
            listHeader(id, values.size(), I32);
            for (int v : values) varint(encode(v));
            return this;
        }

        Writer stringList(int id, List<String> values) {
            listHeader(id, values.size(), BINARY);
            for (String v : values) {
                byte[] b = v.getBytes(StandardCharsets.UTF_8);
                varint(b.length);
                out.writeBytes(b);
            }
            return this;
        }

        byte[] bytes() {
            return out.toByteArray();
        }

        private void listHeader(int id, int n, int elementType) {
            field(id, LIST);
            if (n < 15) {
                out.write((n << 4) | elementType);
            } else {
                out.write(0xf0 | elementType);
                varint(n);
            }
        }

        private void field(int id, int type) {
            int delta = id - lastId;
            if (delta > 0 && delta <= 15) {
                out.write((delta << 4) | type);
            } else {
                out.write(type);
                varint(encode(id));
            }
            lastId = id;
        }

        private static long encode(long v) {
            return (v << 1) ^ (v >> 63);
        }

        private void varint(long v) {
            while ((v & ~0x7fL) != 0) {
                out.write((int) ((v & 0x7f) | 0x80));
                v >>>= 7;
            }
            out.write((int) v);
        }
    }
}
