package org.ibot4j.trainer.run.running;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/**
 * The bytes TensorBoard reads, against its own writer: the expected hex strings were made by the tensorboard
 * 2.x wheel's {@code RecordWriter} and {@code event_pb2.Event.SerializeToString()} (ci/check-tensorboard reads
 * whole runs with its EventAccumulator).
 */
class EventFileTest {
    private static final HexFormat HEX = HexFormat.of();

    @Test
    void recordFramingIsTensorBoardsOwn() {
        // RecordWriter(buf).write(b"ibot4j")
        assertEquals("06000000000000007369d53769626f74346a738b2913", HEX.formatHex(EventFile.record("ibot4j".getBytes())));
    }

    @Test
    void scalarEventIsTheProtobufEncodingOfEventPb2() {
        // Event(wall_time=1.5, step=7, summary=Summary(value=[Value(tag="loss/total", simple_value=0.25)]))
        byte[] event = new EventFile.Message().float64(1, 1.5).varint(2, 7)
                .message(5, new EventFile.Message().message(1, new EventFile.Message().string(1, "loss/total").float32(2, 0.25f)))
                .toByteArray();
        assertEquals("09000000000000f83f10072a130a110a0a6c6f73732f746f74616c150000803e", HEX.formatHex(event));
    }
}
