package dev.keycast.protocol.envelope;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keycast.protocol.MalformedInputException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class RecipientKeysTest {

  static String sha256Hex(byte[] b) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
  }

  @ParameterizedTest
  @ValueSource(ints = {2048, 3072, 4096})
  void parsesRsaPemAndDer(int bits) throws Exception {
    String pem = TestKeys.text("keys/rsa-" + bits + ".pub.pem");
    byte[] der = TestKeys.pemBody(pem);
    RsaRecipientKey fromPem = (RsaRecipientKey) RecipientKeys.parse(pem.getBytes(StandardCharsets.US_ASCII));
    RsaRecipientKey fromDer = (RsaRecipientKey) RecipientKeys.parse(der);
    assertThat(fromPem.bits()).isEqualTo(bits);
    assertThat(fromPem.fingerprint()).isEqualTo(sha256Hex(der)).isEqualTo(fromDer.fingerprint());
    assertThat(fromPem.certificateChain()).isEmpty();
    assertThat(fromPem.subjectKeyIdentifier()).isEqualTo(HexFormat.of().parseHex(sha256Hex(der)));
  }

  @Test
  void parsesCertificatePemAndDer() throws Exception {
    String pem = TestKeys.text("keys/rsa-2048.cert.pem");
    RsaRecipientKey fromPem = TestKeys.rsaRecipientWithCert();
    RsaRecipientKey fromDer = (RsaRecipientKey) RecipientKeys.parse(TestKeys.pemBody(pem));
    assertThat(fromPem.certificateChain()).hasSize(1);
    assertThat(fromPem.fingerprint()).isEqualTo(TestKeys.rsaRecipient(2048).fingerprint());
    assertThat(fromDer.certificateChain()).isEqualTo(fromPem.certificateChain());
    // a chain: two PEM certificates (leaf first)
    RsaRecipientKey chain = (RsaRecipientKey) RecipientKeys.parse((pem + pem).getBytes(StandardCharsets.US_ASCII));
    assertThat(chain.certificateChain()).hasSize(2);
  }

  @Test
  void parsesX25519() throws Exception {
    String pem = TestKeys.text("keys/x25519.pub.pem");
    byte[] der = TestKeys.pemBody(pem);
    X25519RecipientKey k = (X25519RecipientKey) RecipientKeys.parse(der);
    assertThat(k.fingerprint()).isEqualTo(sha256Hex(der));
    assertThat(k.spkiDer()).isEqualTo(der);
    assertThat(RecipientKeys.parse(pem.getBytes(StandardCharsets.US_ASCII))).isEqualTo(k);
    assertThat(k.publicKey()).isEqualTo(TestKeys.x25519Private().publicKey());
  }

  static Stream<Arguments> rejected() {
    String cert = TestKeys.text("keys/rsa-2048.cert.pem");
    return Stream.of(
        Arguments.of("RSA 1024", TestKeys.resource("keys/rsa-1024-unsupported.pub.pem"), "unsupported_key"),
        Arguments.of("RSA e=3", TestKeys.resource("keys/rsa-2048-e3-unsupported.pub.pem"), "unsupported_key"),
        Arguments.of("EC P-256", TestKeys.resource("keys/ec-p256-unsupported.pub.pem"), "unsupported_key"),
        Arguments.of("private key PEM", TestKeys.resource("keys/rsa-2048.key.pem"), "unsupported_key"),
        Arguments.of("empty", new byte[0], "malformed"),
        Arguments.of("garbage DER", new byte[] {0x30, 0x03, 0x02, 0x01, 0x05}, "malformed"),
        Arguments.of("DER with trailing byte",
            append(TestKeys.pemBody(TestKeys.text("keys/rsa-2048.pub.pem")), (byte) 0), "malformed"),
        Arguments.of("unterminated PEM", "-----BEGIN PUBLIC KEY-----\nAAAA\n".getBytes(StandardCharsets.US_ASCII), "malformed"),
        Arguments.of("bad base64", "-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----\n".getBytes(StandardCharsets.US_ASCII), "malformed"),
        Arguments.of("nine certificates", cert.repeat(9).getBytes(StandardCharsets.US_ASCII), "oversize"),
        Arguments.of("oversize input", new byte[RecipientKeys.MAX_INPUT_LENGTH + 1], "oversize"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("rejected")
  void rejectsWithTypedError(String name, byte[] input, String code) {
    assertThatThrownBy(() -> RecipientKeys.parse(input))
        .isInstanceOfSatisfying(MalformedInputException.class, e -> assertThat(e.code()).isEqualTo(code));
  }

  private static byte[] append(byte[] a, byte b) {
    byte[] out = java.util.Arrays.copyOf(a, a.length + 1);
    out[a.length] = b;
    return out;
  }
}
