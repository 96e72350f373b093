package dev.keycast.protocol.receipt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.cbor.CborWriter;
import dev.keycast.protocol.keyset.VectorFile;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Runs the committed receipt vectors and checks that they are reproducible. */
class ReceiptVectorsTest {
  static List<VectorFile> vectors() {
    return VectorFile.load("receipt");
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("vectors")
  void receiptVector(VectorFile v) throws Exception {
    byte[] key = v.hex("public-key", null);
    String expect = v.expect();
    if (expect.equals("ok")) {
      assertThat(ReceiptVerifier.verify(v.input(), key))
          .isEqualTo(
              v.name().startsWith("ok-golden-v3")
                  ? ReceiptVectors.goldenV3()
                  : v.name().startsWith("ok-golden-v2")
                      ? ReceiptVectors.goldenV2()
                      : ReceiptVectors.golden());
      return;
    }
    assertThat(v.name()).endsWith(".fail");
    if (expect.equals("signature_invalid")) {
      assertThatThrownBy(() -> ReceiptVerifier.verify(v.input(), key))
          .isExactlyInstanceOf(ReceiptSignatureException.class)
          .hasMessage(ReceiptSignatureException.MESSAGE);
    } else {
      assertThat(expect).startsWith("malformed:");
      assertThatThrownBy(() -> ReceiptVerifier.verify(v.input(), key))
          .isInstanceOf(MalformedInputException.class)
          .extracting(e -> ((MalformedInputException) e).code())
          .isEqualTo(expect.substring("malformed:".length()));
    }
  }

  @Test
  void committedVectorsAreExactlyWhatTheGeneratorProduces() {
    Map<String, String> generated = ReceiptVectors.generate();
    for (Map.Entry<String, String> e : generated.entrySet()) {
      String name = e.getKey().substring("receipt/".length());
      assertThat(VectorFile.load("receipt").stream().filter(f -> f.name().equals(name)).count())
          .as(name)
          .isEqualTo(1);
      assertThat(VectorFile.parse(name, e.getValue()))
          .as(name)
          .isEqualTo(
              vectors().stream().filter(f -> f.name().equals(name)).findFirst().orElseThrow());
    }
    Set<String> committed =
        vectors().stream()
            .map(v -> "receipt/" + v.name())
            .collect(Collectors.toCollection(TreeSet::new));
    assertThat(committed).isEqualTo(generated.keySet());
  }

  @Test
  void handWrittenCanonicalPayloadEqualsTheCodecOutput() {
    CborWriter w = new CborWriter(16);
    ReceiptCodec.encode(ReceiptVectors.golden(), w);
    assertThat(w.toByteArray()).isEqualTo(ReceiptVectors.payload(ReceiptVectors.Variant.CANONICAL));
    CborWriter w2 = new CborWriter(16);
    ReceiptCodec.encode(ReceiptVectors.goldenV2(), w2);
    assertThat(w2.toByteArray())
        .isEqualTo(ReceiptVectors.payload(ReceiptVectors.Variant.CANONICAL_V2));
  }
}
