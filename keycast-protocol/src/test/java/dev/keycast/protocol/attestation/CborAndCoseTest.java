package dev.keycast.protocol.attestation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.cbor.CborReader;
import java.util.HexFormat;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Known-answer and rejection tests of the strict CBOR reader and the COSE_Sign1 codec. */
class CborAndCoseTest {
  private static byte[] h(String hex) {
    return HexFormat.of().parseHex(hex);
  }

  @Test
  void knownAnswers() throws Exception {
    assertThat(
            new CborReader(h("1b00000191cceb5159"), AttestationParser.CBOR_OPTIONS).readUint("t"))
        .isEqualTo(1725719859545L);
    assertThat(new CborReader(h("3822"), AttestationParser.CBOR_OPTIONS).readInt("alg"))
        .isEqualTo(-35);
    assertThat(new CborReader(h("6353484f"), AttestationParser.CBOR_OPTIONS).readText("t", 0, 10))
        .isEqualTo("SHO");
    assertThat(new CborReader(h("bf"), AttestationParser.CBOR_OPTIONS).readMapHeader("m", 9))
        .isEqualTo(CborReader.INDEFINITE);
    assertThat(CoseSign1.es384ProtectedHeader()).isEqualTo(h("a1013822"));
    assertThat(CoseSign1.toBeSigned(h("a1013822"), h("a0")))
        .isEqualTo(h("846a5369676e61747572653144a10138224041a0"));
  }

  static Stream<Arguments> rejected() {
    return Stream.of(
        Arguments.of("uint head ai 28", "1c", "malformed"),
        Arguments.of("truncated uint64", "1b000001", "truncated"),
        Arguments.of("uint above 2^63-1", "1bffffffffffffffff", "malformed"),
        Arguments.of("text is bytes", "4100", "malformed"),
        Arguments.of("invalid UTF-8", "62c328", "malformed"),
        Arguments.of("indefinite text", "7f6161ff", "malformed"),
        Arguments.of("text over cap", "781141414141414141414141414141414141", "oversize"),
        Arguments.of("text length beyond input", "7a7fffffff41", "oversize"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("rejected")
  void readerRejects(String name, String hex, String code) {
    assertThatThrownBy(
            () -> {
              CborReader r = new CborReader(h(hex), AttestationParser.CBOR_OPTIONS);
              if (hex.startsWith("1")) {
                r.readUint("x");
              } else {
                r.readText("x", 0, 16);
              }
            })
        .isInstanceOfSatisfying(
            MalformedInputException.class, e -> assertThat(e.code()).isEqualTo(code));
  }

  static Stream<Arguments> badCose() {
    return Stream.of(
        Arguments.of("empty", ""),
        Arguments.of("map instead of array", "a0"),
        Arguments.of("indefinite array", "9f44a1013822a04100410000ff"),
        Arguments.of("five elements", "8544a1013822a0410041004100"),
        Arguments.of("detached payload", "8444a1013822a0f64100"),
        Arguments.of("unprotected null", "8444a1013822f641004100"),
        Arguments.of("protected not a map", "84420102a041004100"),
        Arguments.of("crit in protected", "8446a201382202 80a041004100".replace(" ", "")),
        Arguments.of("duplicate alg", "8447a20138220138 22a041004100".replace(" ", "")),
        Arguments.of("trailing byte in protected", "8445a101382200a041004100"),
        Arguments.of("empty signature", "8444a1013822a0410040"),
        Arguments.of("tag 98", "d8628444a1013822a041004100"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("badCose")
  void coseRejects(String name, String hex) {
    assertThatThrownBy(() -> CoseSign1.decode(h(hex))).isInstanceOf(MalformedInputException.class);
  }

  @Test
  void coseAcceptsMinimalMessagesTaggedOrNot() throws Exception {
    CoseSign1 c = CoseSign1.decode(h("8444a1013822a041004101"));
    assertThat(c.algorithm()).isEqualTo("ES384");
    assertThat(c.tagged()).isFalse();
    assertThat(c.payload()).isEqualTo(h("00"));
    CoseSign1 t = CoseSign1.decode(h("d28443a10126a041004101"));
    assertThat(t.tagged()).isTrue();
    assertThat(t.algorithm()).isEqualTo("COSE alg -7");
    assertThat(CoseSign1.decode(h("8440a041004101")).algorithm()).isEmpty();
    assertThat(CoseSign1.decode(h("8444a1013822a041004101"))).isEqualTo(c).hasSameHashCodeAs(c);
    assertThat(c.toString())
        .isEqualTo(
            "CoseSign1[alg=ES384, tagged=false, protected=a1013822, payload=1 B, signature=1 B]");
    assertThat(CoseSign1.encode(h("a1013822"), h("a0"), h("00"), h("01")))
        .isEqualTo(h("8444a1013822a041004101"));
  }
}
