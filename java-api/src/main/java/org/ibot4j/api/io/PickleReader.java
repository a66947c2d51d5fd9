package org.ibot4j.api.io;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A restricted unpickler for PyTorch checkpoints: it builds plain Java values (Map, List, String,
 * Long, Double, Boolean, null) and never runs code. Globals become {@link Global}; calling one becomes
 * {@link PyObject}, except {@code collections.OrderedDict} (a Map) and tensor rebuild functions, which
 * a resolver turns into values (see {@link PthReader}).
 */
final class PickleReader {
    record Global(String module, String name) {
        String qualified() {
            return module + "." + name;
        }
    }

    /** An object of a class the reader does not know: its class, constructor arguments and state. */
    record PyObject(Global type, List<Object> args, Object[] state) {}

    /** Python tuple. */
    record Tuple(List<Object> items) {}

    interface Resolver {
        /** A persistent id (PyTorch: a storage reference). */
        Object persistent(Object pid) throws IOException;

        /** A call of {@code global(args)}; return null to keep it as a {@link PyObject}. */
        Object call(Global global, List<Object> args) throws IOException;
    }

    private static final Object MARK = new Object();
    private final ByteBuffer in;
    private final Resolver resolver;
    private final Deque<Object> stack = new ArrayDeque<>();
    private final Map<Integer, Object> memo = new HashMap<>();

    PickleReader(byte[] data, Resolver resolver) {
        this.in = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
        this.resolver = resolver;
    }

    /**
     * Reads the pickle. Damaged input fails with an IOException in time and memory bounded by the
     * input's size: lengths are checked against the bytes left before anything is allocated, and
     * self-referencing containers are neither hashed nor printed.
     */
    Object read() throws IOException {
        try {
            return readOps();
        } catch (BufferUnderflowException e) {
            throw new IOException("pickle ends in the middle of an instruction (truncated or damaged)");
        }
    }

    private Object readOps() throws IOException {
        while (in.hasRemaining()) {
            int op = in.get() & 0xff;
            switch (op) {
                case 0x80 -> in.get();                               // PROTO
                case 0x95 -> in.getLong();                           // FRAME
                case '.' -> { return pop(); }                        // STOP
                case '(' -> stack.push(MARK);
                case '}' -> stack.push(new LinkedHashMap<>());
                case ']' -> stack.push(new ArrayList<>());
                case ')' -> stack.push(new Tuple(List.of()));
                case 't' -> stack.push(new Tuple(popMark()));
                case 0x85 -> stack.push(new Tuple(popN(1)));
                case 0x86 -> stack.push(new Tuple(popN(2)));
                case 0x87 -> stack.push(new Tuple(popN(3)));
                case 'X' -> stack.push(string(Integer.toUnsignedLong(in.getInt())));
                case 0x8c -> stack.push(string(in.get() & 0xff));
                case 0x8d -> stack.push(string(in.getLong()));
                case 'T' -> stack.push(bytes(Integer.toUnsignedLong(in.getInt())));
                case 'U', 'C' -> stack.push(bytes(in.get() & 0xff));
                case 'B' -> stack.push(bytes(Integer.toUnsignedLong(in.getInt())));
                case 'J' -> stack.push((long) in.getInt());
                case 'K' -> stack.push((long) (in.get() & 0xff));
                case 'M' -> stack.push((long) (in.getShort() & 0xffff));
                case 0x8a -> stack.push(longOf(in.get() & 0xff));
                case 0x8b -> stack.push(longOf(Integer.toUnsignedLong(in.getInt())));
                case 'G' -> stack.push(in.order(ByteOrder.BIG_ENDIAN).getDouble());
                case 0x88 -> stack.push(Boolean.TRUE);
                case 0x89 -> stack.push(Boolean.FALSE);
                case 'N' -> stack.push(NONE);
                case 'c' -> stack.push(new Global(line(), line()));
                case 0x93 -> { String name = (String) pop(); String module = (String) pop(); stack.push(new Global(module, name)); }
                case 'R' -> { Tuple args = (Tuple) pop(); stack.push(call(pop(), args.items())); }
                case 0x81 -> { Tuple args = (Tuple) pop(); stack.push(call(pop(), args.items())); }   // NEWOBJ
                case 'b' -> build(pop(), peek());
                case 'Q' -> stack.push(resolver.persistent(pop()));
                case 's' -> { Object v = pop(); Object k = key(pop()); map(peek()).put(k, v); }
                case 'u' -> {
                    List<Object> items = popMark();
                    if (items.size() % 2 != 0) throw new IOException("pickle SETITEMS with an odd number of items");
                    Map<Object, Object> m = map(peek());
                    for (int i = 0; i < items.size(); i += 2) m.put(key(items.get(i)), items.get(i + 1));
                }
                case 'a' -> { Object v = pop(); list(peek()).add(v); }
                case 'e' -> { List<Object> items = popMark(); list(peek()).addAll(items); }
                case 0x8f -> stack.push(new ArrayList<>());          // EMPTY_SET, as a list
                case 0x90 -> { List<Object> items = popMark(); list(peek()).addAll(items); }
                case 0x91 -> stack.push(popMark());                  // FROZENSET
                case 'q' -> memo.put(in.get() & 0xff, peek());
                case 'r' -> memo.put(in.getInt(), peek());
                case 0x94 -> memo.put(memo.size(), peek());
                case 'h' -> stack.push(memoized(in.get() & 0xff));
                case 'j' -> stack.push(memoized(in.getInt()));
                case '0' -> pop();
                case '1' -> popMark();
                case '2' -> stack.push(peek());
                default -> throw new IOException(String.format("unsupported pickle opcode 0x%02x at byte %d", op, in.position() - 1));
            }
            in.order(ByteOrder.LITTLE_ENDIAN);
        }
        throw new IOException("pickle ended without STOP");
    }

    /** Python None inside containers (null cannot be told apart from a missing map entry). */
    static final Object NONE = new Object() {
        @Override
        public String toString() {
            return "None";
        }
    };

    private Object memoized(int index) throws IOException {
        Object value = memo.get(index);
        if (value == null) throw new IOException("pickle reads memo entry " + index + " before storing it");
        return value;
    }

    /** Python refuses unhashable dict keys; here they could also be cyclic, and hashing a cycle never ends. */
    private static Object key(Object k) throws IOException {
        if (k instanceof List<?> || k instanceof Map<?, ?> || k instanceof PyObject) {
            throw new IOException("pickle uses an unhashable " + kind(k) + " as a dict key");
        }
        if (k instanceof Tuple t) for (Object item : t.items()) key(item);
        return k;
    }

    /** What a value is, for messages: never its contents, which may be huge or refer to themselves. */
    private static String kind(Object o) {
        if (o == null || o == NONE) return "None";
        if (o instanceof Global g) return "global " + g.qualified();
        if (o instanceof PyObject p) return "object of " + p.type().qualified();
        if (o instanceof List<?>) return "list";
        if (o instanceof Map<?, ?>) return "dict";
        if (o instanceof Tuple) return "tuple";
        return o.getClass().getSimpleName();
    }

    private Object call(Object callable, List<Object> args) throws IOException {
        if (!(callable instanceof Global g)) throw new IOException("cannot call a " + kind(callable));
        if (g.qualified().equals("collections.OrderedDict")) return new LinkedHashMap<>();
        Object resolved = resolver.call(g, args);
        return resolved != null ? resolved : new PyObject(g, args, new Object[1]);
    }

    private static void build(Object state, Object target) {
        if (target instanceof PyObject o) {
            o.state()[0] = state;
        } else if (target instanceof Map<?, ?> m && state instanceof Map<?, ?> s) {
            @SuppressWarnings("unchecked") Map<Object, Object> mm = (Map<Object, Object>) m;
            mm.putAll(s);
        }
        // Other targets (tensors, with their hooks state) keep their value.
    }

    @SuppressWarnings("unchecked")
    private static Map<Object, Object> map(Object o) throws IOException {
        if (o instanceof Map<?, ?> m) return (Map<Object, Object>) m;
        throw new IOException("expected a dict, found a " + kind(o));
    }

    @SuppressWarnings("unchecked")
    private static List<Object> list(Object o) throws IOException {
        if (o instanceof List<?> l) return (List<Object>) l;
        throw new IOException("expected a list, found a " + kind(o));
    }

    /** A length read from the pickle, checked against the bytes that are left before it is allocated. */
    private int length(long n) throws IOException {
        if (n < 0 || n > in.remaining()) {
            throw new IOException("pickle declares " + n + " bytes at byte " + in.position() + " but " + in.remaining() + " are left");
        }
        return (int) n;
    }

    private Object longOf(long declared) throws IOException {
        int n = length(declared);
        byte[] b = new byte[n];
        in.get(b);
        byte[] be = new byte[n];
        for (int i = 0; i < n; i++) be[i] = b[n - 1 - i];
        BigInteger v = n == 0 ? BigInteger.ZERO : new BigInteger(be);
        return v.bitLength() < 64 ? (Object) v.longValue() : v;
    }

    private String string(long declared) throws IOException {
        byte[] b = new byte[length(declared)];
        in.get(b);
        return new String(b, StandardCharsets.UTF_8);
    }

    private byte[] bytes(long declared) throws IOException {
        byte[] b = new byte[length(declared)];
        in.get(b);
        return b;
    }

    private String line() {
        StringBuilder sb = new StringBuilder();
        for (byte c = in.get(); c != '\n'; c = in.get()) sb.append((char) c);
        return sb.toString();
    }

    private Object pop() throws IOException {
        if (stack.isEmpty()) throw new IOException("pickle stack underflow");
        return stack.pop();
    }

    private Object peek() throws IOException {
        if (stack.isEmpty()) throw new IOException("pickle stack underflow");
        return stack.peek();
    }

    private List<Object> popN(int n) throws IOException {
        Object[] items = new Object[n];
        for (int i = n - 1; i >= 0; i--) items[i] = pop();
        return new ArrayList<>(List.of(items));
    }

    private List<Object> popMark() throws IOException {
        List<Object> items = new ArrayList<>();
        while (true) {
            Object o = pop();
            if (o == MARK) break;
            items.add(o);
        }
        Collections.reverse(items);  // linear: adding at the front is quadratic in the run's length
        return items;
    }
}
