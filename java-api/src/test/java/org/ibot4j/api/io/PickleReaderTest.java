package org.ibot4j.api.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Test;

/** Hostile pickles fail with one IOException in bounded time and memory; nothing recurses forever. */
class PickleReaderTest {
    private static final PickleReader.Resolver NO_TENSORS = new PickleReader.Resolver() {
        @Override
        public Object persistent(Object pid) throws IOException {
            throw new IOException("no storages here");
        }

        @Override
        public Object call(PickleReader.Global global, List<Object> args) {
            return null;
        }
    };

    private static Object read(int... ops) throws IOException {
        byte[] b = new byte[ops.length];
        for (int i = 0; i < ops.length; i++) b[i] = (byte) ops[i];
        return new PickleReader(b, NO_TENSORS).read();
    }

    @Test
    void aWellFormedDictReads() throws IOException {
        // {'a': [1, 2]} as protocol 2: EMPTY_DICT, SHORT_BINUNICODE 'a', EMPTY_LIST, MARK, K 1, K 2, APPENDS, SETITEM, STOP
        Object v = read(0x80, 2, '}', 0x8c, 1, 'a', ']', '(', 'K', 1, 'K', 2, 'e', 's', '.');
        assertThat(v).isEqualTo(Map.of("a", List.of(1L, 2L)));
    }

    @Test
    void aListThatContainsItselfCannotBecomeADictKey() {
        // d = {}; l = []; l.append(l); d[l] = None  -- Python refuses the key; hashing the cycle would never end.
        assertThatThrownBy(() -> read('}', ']', 'q', 0, 'h', 0, 'a', 'N', 's', '.'))
                .isInstanceOf(IOException.class).hasMessageContaining("unhashable list");
    }

    @Test
    void aCycleThroughTwoListsIsNeverPrintedInAMessage() {
        // a = []; b = [a]; a.append(b); then SETITEM on a (a list, not a dict): the message names the kind only.
        assertThatThrownBy(() -> read(']', 'q', 0, ']', 'h', 0, 'a', 'q', 1, 'h', 0, 'h', 1, 'a', '0', 'h', 0, 'N', 'N', 's', '.'))
                .isInstanceOf(IOException.class).hasMessageContaining("expected a dict, found a list");
    }

    @Test
    void lengthsBeyondTheInputAreRefusedBeforeAllocating() {
        // BINUNICODE / BINBYTES declaring 2^32-1 bytes, BINUNICODE8 declaring 2^62, LONG4 declaring 2^31: 7 bytes of input.
        assertThatThrownBy(() -> read('X', 0xff, 0xff, 0xff, 0xff, '.')).isInstanceOf(IOException.class).hasMessageContaining("declares 4294967295 bytes");
        assertThatThrownBy(() -> read('B', 0xff, 0xff, 0xff, 0x7f, '.')).isInstanceOf(IOException.class).hasMessageContaining("declares");
        assertThatThrownBy(() -> read(0x8d, 0, 0, 0, 0, 0, 0, 0, 0x40, '.')).isInstanceOf(IOException.class).hasMessageContaining("declares");
        assertThatThrownBy(() -> read(0x8b, 0, 0, 0, 0x80, '.')).isInstanceOf(IOException.class).hasMessageContaining("declares");
    }

    @Test
    void truncatedInstructionsAndMissingMemoEntriesAreClean() {
        assertThatThrownBy(() -> read('J', 1, 2)).isInstanceOf(IOException.class).hasMessageContaining("ends in the middle");
        assertThatThrownBy(() -> read('h', 7, '.')).isInstanceOf(IOException.class).hasMessageContaining("memo entry 7");
        assertThatThrownBy(() -> read(']', '(', 'N', 'N', 'N', 'u', '.')).isInstanceOf(IOException.class);
    }

    @Test
    void aLongMarkRunIsReadInLinearTime() {
        // 4 MB of None after one MARK: a quadratic pop would take hours; linear takes milliseconds.
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.write(']');
        b.write('(');
        for (int i = 0; i < 4_000_000; i++) b.write('N');
        b.write('e');
        b.write('.');
        Object v = Assertions.assertTimeoutPreemptively(Duration.ofSeconds(20), () -> new PickleReader(b.toByteArray(), NO_TENSORS).read());
        assertThat((List<?>) v).hasSize(4_000_000);
    }
}
