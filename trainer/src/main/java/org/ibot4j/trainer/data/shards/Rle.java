package org.ibot4j.trainer.data.shards;

import java.io.IOException;

/** Parquet's RLE / bit-packing hybrid, the encoding of levels and dictionary indices. */
final class Rle {
    private Rle() {}

    /** {@code count} values of {@code width} bits from {@code length} bytes at {@code offset}. */
    static int[] decode(byte[] in, int offset, int length, int width, int count) throws IOException {
        int[] out = new int[count];
        if (width == 0 || count == 0) return out;
        if (width > 32 || offset < 0 || length < 0 || offset + length > in.length) throw new IOException("damaged levels or indices in a Parquet page");
        int at = offset, end = offset + length, n = 0;
        int bytesPerValue = (width + 7) / 8;
        while (n < count) {
            long header = 0;
            for (int shift = 0; ; shift += 7) {
                if (at >= end || shift > 35) throw new IOException("damaged levels or indices in a Parquet page (a run header)");
                int b = in[at++] & 0xff;
                header |= (long) (b & 0x7f) << shift;
                if ((b & 0x80) == 0) break;
            }
            if ((header & 1) == 0) {
                long run = header >>> 1;
                if (at + bytesPerValue > end) throw new IOException("damaged levels or indices in a Parquet page (a run value)");
                int value = 0;
                for (int i = 0; i < bytesPerValue; i++) value |= (in[at++] & 0xff) << (8 * i);
                for (long i = 0; i < run && n < count; i++) out[n++] = value;
            } else {
                long values = (header >>> 1) * 8;
                long bits = values * width;
                if (at + (bits + 7) / 8 > end) throw new IOException("damaged levels or indices in a Parquet page (a packed run)");
                long bit = (long) at * 8;
                for (long i = 0; i < values; i++) {
                    if (n < count) {
                        int value = 0;
                        for (int k = 0; k < width; k++) {
                            long p = bit + k;
                            value |= ((in[(int) (p >>> 3)] >>> (p & 7)) & 1) << k;
                        }
                        out[n++] = value;
                    }
                    bit += width;
                }
                at += (int) ((bits + 7) / 8);
            }
        }
        return out;
    }
}
