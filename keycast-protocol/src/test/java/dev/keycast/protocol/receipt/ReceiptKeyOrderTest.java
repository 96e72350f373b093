package dev.keycast.protocol.receipt;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keycast.protocol.cbor.CborWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The receipt payload's fixed key order is the RFC 8949 section 4.2.1 deterministic order. */
class ReceiptKeyOrderTest {
  @Test
  void payloadKeysAreInDeterministicOrder() {
    List<String> keys =
        List.of(
            ReceiptCodec.K_VERSION,
            ReceiptCodec.K_KEY_SET,
            ReceiptCodec.K_DELIVERIES,
            ReceiptCodec.K_ISSUED_AT,
            ReceiptCodec.K_PAYLOAD,
            ReceiptCodec.K_POLICY,
            ReceiptCodec.K_SKIPPED,
            ReceiptCodec.K_KIND,
            ReceiptCodec.K_SEND);
    assertThat(keys).hasSize(ReceiptCodec.MAP_SIZE);
    CborWriter inOrder = new CborWriter().map(keys.size());
    List<Map.Entry<byte[], byte[]>> entries = new ArrayList<>();
    for (String k : keys.reversed()) {
      entries.add(Map.entry(new CborWriter().text(k).toByteArray(), new byte[] {(byte) 0xf6}));
    }
    for (String k : keys) {
      inOrder.text(k).nullValue();
    }
    assertThat(new CborWriter().deterministicMap(entries).toByteArray())
        .isEqualTo(inOrder.toByteArray());
  }
}
