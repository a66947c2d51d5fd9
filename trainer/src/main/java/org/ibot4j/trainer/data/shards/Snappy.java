package org.ibot4j.trainer.data.shards;

import java.io.IOException;

/** Snappy's raw block format (what Parquet's SNAPPY codec stores), decompression only. */
final class Snappy {
    private Snappy() {}

    static byte[] decompress(byte[] in, int offset, int length, int expected) throws IOException {
        int end = offset + length, at = offset;
        long n = 0;
        for (int shift = 0; ; shift += 7) {
            if (at >= end || shift > 28) throw new IOException("a damaged Snappy block (its length)");
            int b = in[at++] & 0xff;
            n |= (long) (b & 0x7f) << shift;
            if ((b & 0x80) == 0) break;
        }
        if (n != expected) throw new IOException("a Snappy block of " + n + " bytes where the page says " + expected);
        byte[] out = new byte[(int) n];
        int o = 0;
        while (at < end) {
            int tag = in[at++] & 0xff;
            int kind = tag & 3;
            if (kind == 0) {
                int len = tag >>> 2;
                if (len >= 60) {
                    int bytes = len - 59;
                    if (at + bytes > end) throw new IOException("a damaged Snappy block (a literal's length)");
                    len = 0;
                    for (int i = 0; i < bytes; i++) len |= (in[at++] & 0xff) << (8 * i);
                }
                len += 1;
                if (len <= 0 || at + len > end || o + len > out.length) throw new IOException("a damaged Snappy block (a literal past its end)");
                System.arraycopy(in, at, out, o, len);
                at += len;
                o += len;
                continue;
            }
            int len, distance;
            if (kind == 1) {
                if (at >= end) throw new IOException("a damaged Snappy block (a copy)");
                len = 4 + ((tag >>> 2) & 7);
                distance = ((tag >>> 5) << 8) | (in[at++] & 0xff);
            } else {
                int bytes = kind == 2 ? 2 : 4;
                if (at + bytes > end) throw new IOException("a damaged Snappy block (a copy)");
                len = (tag >>> 2) + 1;
                distance = 0;
                for (int i = 0; i < bytes; i++) distance |= (in[at++] & 0xff) << (8 * i);
            }
            if (distance <= 0 || distance > o || o + len > out.length) throw new IOException("a damaged Snappy block (a copy out of range)");
            for (int i = 0; i < len; i++, o++) out[o] = out[o - distance];
        }
        if (o != out.length) throw new IOException("a damaged Snappy block (" + o + " of " + out.length + " bytes)");
        return out;
    }
}
