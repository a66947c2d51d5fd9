package org.ibot4j.trainer.export;

import com.google.protobuf.ByteString;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Locale;
import org.ibot4j.trainer.export.proto.Onnx.AttributeProto;
import org.ibot4j.trainer.export.proto.Onnx.GraphProto;
import org.ibot4j.trainer.export.proto.Onnx.NodeProto;
import org.ibot4j.trainer.export.proto.Onnx.TensorProto;
import org.ibot4j.trainer.export.proto.Onnx.TensorShapeProto;
import org.ibot4j.trainer.export.proto.Onnx.TypeProto;
import org.ibot4j.trainer.export.proto.Onnx.ValueInfoProto;

/**
 * A graph under construction: weights as initializers, operators as nodes, each output named once. The
 * methods are the few ONNX operators a backbone needs (opset {@link OnnxExport#OPSET}), so a family's
 * graph reads as its forward pass.
 */
final class OnnxGraph {
    private final GraphProto.Builder graph = GraphProto.newBuilder();
    private int next;

    OnnxGraph(String name) {
        graph.setName(name);
    }

    GraphProto build() {
        return graph.build();
    }

    /** A float32 input {@code [batch, dims...]}; the first axis is the symbolic {@code batch}. */
    String input(String name, long... dims) {
        graph.addInput(floatValue(name, dims));
        return name;
    }

    /** Names {@code value} as the graph's float32 output {@code [batch, dims...]}. */
    void output(String value, String name, long... dims) {
        graph.addNode(NodeProto.newBuilder().setOpType("Identity").addInput(value).addOutput(name).setName(name));
        graph.addOutput(floatValue(name, dims));
    }

    /** A float32 initializer (little-endian raw data). */
    String weight(String name, long[] shape, float[] data) {
        ByteBuffer bytes = ByteBuffer.allocate(data.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        bytes.asFloatBuffer().put(data);
        TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.FLOAT_VALUE)
                .setRawData(ByteString.copyFrom(bytes.array()));
        for (long d : shape) t.addDims(d);
        graph.addInitializer(t);
        return name;
    }

    /** An int64 constant (shapes, axes, indices). */
    String ints(long... values) {
        String name = "const_" + next++;
        TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.INT64_VALUE).addDims(values.length);
        for (long v : values) t.addInt64Data(v);
        graph.addInitializer(t);
        return name;
    }

    /** An int64 scalar constant (a Gather index that drops its axis). */
    String intScalar(long value) {
        String name = "const_" + next++;
        graph.addInitializer(TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.INT64_VALUE).addInt64Data(value));
        return name;
    }

    /** A float32 scalar constant. */
    String scalar(float value) {
        String name = "const_" + next++;
        graph.addInitializer(TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.FLOAT_VALUE).addFloatData(value));
        return name;
    }

    /** One operator with one output; attributes as name, value pairs (long, float, long[]). */
    String op(String type, String[] inputs, Object... attributes) {
        String out = type.toLowerCase(Locale.ROOT) + "_" + next++;
        NodeProto.Builder node = NodeProto.newBuilder().setOpType(type).setName(out).addOutput(out);
        for (String in : inputs) node.addInput(in);
        for (int i = 0; i < attributes.length; i += 2) node.addAttribute(attribute((String) attributes[i], attributes[i + 1]));
        graph.addNode(node);
        return out;
    }

    String op(String type, String a, Object... attributes) {
        return op(type, new String[] {a}, attributes);
    }

    /** A binary operator without attributes (Add, Mul, MatMul, Reshape, Expand). */
    String op2(String type, String a, String b) {
        return op(type, new String[] {a, b});
    }

    private static AttributeProto attribute(String name, Object value) {
        AttributeProto.Builder a = AttributeProto.newBuilder().setName(name);
        switch (value) {
            case Long l -> a.setType(AttributeProto.AttributeType.INT).setI(l);
            case Integer i -> a.setType(AttributeProto.AttributeType.INT).setI(i);
            case Float f -> a.setType(AttributeProto.AttributeType.FLOAT).setF(f);
            case Double d -> a.setType(AttributeProto.AttributeType.FLOAT).setF(d.floatValue());
            case long[] ints -> {
                a.setType(AttributeProto.AttributeType.INTS);
                for (long v : ints) a.addInts(v);
            }
            default -> throw new IllegalArgumentException("attribute " + name + ": unsupported value " + value);
        }
        return a.build();
    }

    private static ValueInfoProto floatValue(String name, long... dims) {
        TensorShapeProto.Builder shape = TensorShapeProto.newBuilder().addDim(TensorShapeProto.Dimension.newBuilder().setDimParam("batch"));
        for (long d : dims) shape.addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(d));
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder().setTensorType(
                TypeProto.Tensor.newBuilder().setElemType(TensorProto.DataType.FLOAT_VALUE).setShape(shape))).build();
    }
}
