package org.ibot4j.api.io;

/** A float32 tensor with its name and shape, as exchanged with PyTorch files. */
public record NamedTensor(String name, long[] shape, float[] data) {
    public NamedTensor {
        long n = 1;
        for (long s : shape) n *= s;
        if (n != data.length) {
            throw new IllegalArgumentException(name + ": shape " + java.util.Arrays.toString(shape) + " needs " + n + " values, got " + data.length);
        }
    }
}
