package org.ibot4j.api;

import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.lang.reflect.RecordComponent;
import java.util.ArrayList;
import java.util.List;
import org.ibot4j.bindings.Ibot4jC;
import org.ibot4j.bindings.ibot4j_config;

/**
 * Fills the C struct {@code ibot4j_config} from an {@link IbotConfig} by matching each record
 * component to the struct member of the same snake_case name, so neither side lists the fields
 * again. A component without a member, or a member without a component, fails at class load.
 */
final class ConfigStruct {
    private record Field(RecordComponent component, VarHandle handle) {}

    private static final List<Field> FIELDS = fields();

    private ConfigStruct() {}

    static MemorySegment allocate(IbotConfig config, Arena arena) {
        MemorySegment s = ibot4j_config.allocate(arena);
        for (Field f : FIELDS) f.handle().set(s, 0L, toNative(value(f.component(), config)));
        return s;
    }

    /**
     * Asks the native library whether {@code config} breaks any rule (the one validation of a
     * configuration, native/src/config.cpp); loads the library on first use.
     *
     * @throws InvalidConfigException listing every problem the native side found
     */
    static IbotConfig check(IbotConfig config) {
        NativeLibrary.load();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment err = NativeErrors.allocate(arena);
            int status = Ibot4jC.ibot4j_config_check(allocate(config, arena), err, NativeErrors.BUFFER_BYTES);
            if (status == 0) return config;
            String[] lines = err.getString(0).split("\n");
            if (lines.length < 2 || !lines[0].startsWith("invalid ibot4j config")) NativeErrors.check(status, err, "config_check");
            List<String> problems = new ArrayList<>();
            for (int i = 1; i < lines.length; i++) problems.add(lines[i].replaceFirst("^\\s*-\\s*", ""));
            throw new InvalidConfigException("ibot4j config", problems);
        }
    }

    /** {@code embedDim} becomes {@code embed_dim}, {@code bf16Autocast} {@code bf16_autocast}. */
    static String snakeCase(String name) {
        StringBuilder out = new StringBuilder();
        for (char ch : name.toCharArray()) {
            if (Character.isUpperCase(ch)) out.append('_').append(Character.toLowerCase(ch));
            else out.append(ch);
        }
        return out.toString();
    }

    /** The struct's member names in declaration order, padding left out. */
    static List<String> structMembers() {
        StructLayout layout = (StructLayout) ibot4j_config.layout();
        return layout.memberLayouts().stream().filter(m -> m instanceof ValueLayout).map(m -> m.name().orElseThrow()).toList();
    }

    private static List<Field> fields() {
        StructLayout layout = (StructLayout) ibot4j_config.layout();
        List<String> members = new ArrayList<>(structMembers());
        List<Field> out = new ArrayList<>();
        for (RecordComponent c : IbotConfig.class.getRecordComponents()) {
            String name = snakeCase(c.getName());
            if (!members.remove(name)) {
                throw new IllegalStateException("IbotConfig." + c.getName() + " has no member '" + name
                        + "' in ibot4j_config (native/include/ibot4j.h): add it to IBOT4J_CONFIG_FIELDS and regenerate the bindings");
            }
            VarHandle h = layout.varHandle(MemoryLayout.PathElement.groupElement(name));
            out.add(new Field(c, h));
        }
        if (!members.isEmpty()) {
            throw new IllegalStateException("ibot4j_config members " + members + " have no IbotConfig component: add them to the record");
        }
        return List.copyOf(out);
    }

    private static Object value(RecordComponent c, IbotConfig config) {
        try {
            return c.getAccessor().invoke(config);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot read IbotConfig." + c.getName(), e);
        }
    }

    /** Booleans are int32 0/1, a device and a centering their IBOT4J_DEVICE_* and IBOT4J_CENTERING_* codes, as the header says. */
    private static Object toNative(Object v) {
        if (v instanceof Boolean b) return b ? 1 : 0;
        if (v instanceof Device d) return d.code;
        if (v instanceof Centering c) return c.code;
        if (v instanceof Family f) return f.code;
        return v;
    }
}
