package org.ibot4j.trainer.run.running;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.zip.CRC32C;

/**
 * A TensorBoard event file ({@code events.out.tfevents.*}): TFRecord framing around {@code tensorflow.Event}
 * protobuf messages. Each record is the data's length (uint64 LE), the masked CRC-32C of those 8 bytes
 * (uint32 LE), the data, and the masked CRC-32C of the data; TensorBoard rejects a record whose checksums
 * do not match. The few message fields written are encoded here ({@link Message}); their numbers are those
 * of tensorboard/compat/proto/event.proto and summary.proto.
 *
 * <p>Every {@link #append} opens, writes and closes the file, so a crash loses at most the record being
 * written and nothing has to be closed; TensorBoard reads a torn last record as the end of the file.
 */
final class EventFile {
    private final Path file;

    EventFile(Path file) {
        this.file = file;
    }

    Path path() {
        return file;
    }

    /** Appends these serialized {@code Event} messages, one record each, in one write. */
    void append(byte[]... events) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] e : events) out.write(record(e));
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND)) {
            ByteBuffer b = ByteBuffer.wrap(out.toByteArray());
            while (b.hasRemaining()) ch.write(b);
        }
    }

    static byte[] record(byte[] data) {
        ByteBuffer b = ByteBuffer.allocate(8 + 4 + data.length + 4).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(data.length);
        b.putInt(maskedCrc(b.array(), 0, 8));
        b.put(data);
        b.putInt(maskedCrc(data, 0, data.length));
        return b.array();
    }

    /** TFRecord's mask: rotate the CRC-32C right by 15 bits and add a constant (so a CRC of CRCs is not trivially zero). */
    static int maskedCrc(byte[] data, int offset, int length) {
        CRC32C crc = new CRC32C();
        crc.update(data, offset, length);
        int c = (int) crc.getValue();
        return ((c >>> 15) | (c << 17)) + 0xa282ead8;
    }

    /** The protobuf wire format of the fields written: varints, fixed64 doubles, fixed32 floats, length-delimited bytes. */
    static final class Message {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Message varint(int field, long value) {
            tag(field, 0);
            raw(value);
            return this;
        }

        Message float64(int field, double value) {
            tag(field, 1);
            long bits = Double.doubleToRawLongBits(value);
            for (int i = 0; i < 8; i++) out.write((int) (bits >>> (8 * i)));
            return this;
        }

        Message float32(int field, float value) {
            tag(field, 5);
            int bits = Float.floatToRawIntBits(value);
            for (int i = 0; i < 4; i++) out.write(bits >>> (8 * i));
            return this;
        }

        Message bytes(int field, byte[] value) {
            tag(field, 2);
            raw(value.length);
            out.writeBytes(value);
            return this;
        }

        Message string(int field, String value) {
            return bytes(field, value.getBytes(StandardCharsets.UTF_8));
        }

        Message message(int field, Message value) {
            return bytes(field, value.toByteArray());
        }

        byte[] toByteArray() {
            return out.toByteArray();
        }

        private void tag(int field, int wireType) {
            raw(((long) field << 3) | wireType);
        }

        private void raw(long v) {
            while ((v & ~0x7FL) != 0) {
                out.write((int) ((v & 0x7F) | 0x80));
                v >>>= 7;
            }
            out.write((int) v);
        }
    }
}
