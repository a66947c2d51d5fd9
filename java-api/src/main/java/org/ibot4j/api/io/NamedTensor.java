package org.ibot4j.api.io;

import java.util.Arrays;

/**
 * A float32 tensor with its name and shape, as exchanged with PyTorch files.
 *
 * @param name the state_dict key
 * @param shape its sizes; their product is data.length
 * @param data its values, row-major
 */
public record NamedTensor(String name, long[] shape, float[] data) {
    public NamedTensor {
        long n = 1;
        for (long s : shape) n *= s;
        if (n != data.length) {
            throw new IllegalArgumentException(name + ": shape " + Arrays.toString(shape) + " needs " + n + " values, got " + data.length);
        }
    }
}
