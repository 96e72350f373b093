package dev.keycast.protocol.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.keycast.protocol.DecryptionFailedException;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.fuzz.FuzzContract;
import dev.keycast.protocol.fuzz.FuzzContract.Outcome;
import dev.keycast.protocol.hpke.X25519PrivateKey;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.util.Arrays;

/**
 * Coverage-guided fuzz targets for recipient proof of possession (api.md 2.2), whose inputs come
 * from anyone: the proof a client posts (RSA signature bytes) and the challenge a host returns
 * (X25519: {@code enc}, sealed response, token).
 *
 * <p>Contract: {@link RecipientProof#verifyRsa} never throws and never accepts bytes the fuzzer made
 * (it cannot forge RSASSA-PSS); {@link RecipientProof#openX25519} lets only {@link
 * DecryptionFailedException} or {@link MalformedInputException} escape and never opens a challenge
 * the fuzzer made; the signature input is injective in (token, fingerprint), so a proof for one
 * challenge is never a proof for another.
 */
class RecipientProofFuzzTest {
  private static final long ALLOCATION_PER_BYTE = 1024;
  private static final KeyPair RSA;
  private static final X25519PrivateKey X25519 = X25519PrivateKey.generate(new SecureRandom());
  private static final String FINGERPRINT = "ab".repeat(32);

  static {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
      g.initialize(2048);
      RSA = g.generateKeyPair();
    } catch (Exception e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  @FuzzTest
  void verifyRsa(FuzzedDataProvider data) {
    String token = data.consumeString(RecipientProof.MAX_TOKEN_CHARS);
    String fingerprint = data.consumeBoolean() ? FINGERPRINT : data.consumeString(80);
    byte[] signature = data.consumeRemainingAsBytes();
    Outcome<Boolean> v =
        FuzzContract.typedOnly(
            signature,
            ALLOCATION_PER_BYTE,
            () -> RecipientProof.verifyRsa(RSA.getPublic(), token, fingerprint, signature));
    assertThat(v.ok()).as("verifyRsa never throws: %s", v.error()).isTrue();
    assertThat(v.value()).as("a signature the fuzzer made does not verify").isFalse();
  }

  @FuzzTest
  void openX25519(FuzzedDataProvider data) {
    String token = data.consumeString(RecipientProof.MAX_TOKEN_CHARS);
    String enc = data.consumeBoolean() ? null : data.consumeString(80);
    String sealed = data.consumeBoolean() ? null : data.consumeRemainingAsString();
    RecipientProof.Challenge c =
        new RecipientProof.Challenge(token, FINGERPRINT, null, enc, sealed);
    byte[] size = (token + enc + sealed).getBytes(java.nio.charset.StandardCharsets.UTF_8);
    Outcome<String> opened =
        FuzzContract.typedOnly(
            size,
            ALLOCATION_PER_BYTE,
            () -> RecipientProof.openX25519(X25519, c),
            DecryptionFailedException.class,
            MalformedInputException.class);
    assertThat(opened.ok()).as("a challenge the fuzzer made does not open").isFalse();
  }

  @FuzzTest
  void signatureInputIsInjective(FuzzedDataProvider data) {
    String t1 = data.consumeAsciiString(64);
    String f1 = data.consumeAsciiString(64);
    String t2 = data.consumeAsciiString(64);
    String f2 = data.consumeAsciiString(64);
    boolean same =
        Arrays.equals(RecipientProof.signatureInput(t1, f1), RecipientProof.signatureInput(t2, f2));
    assertThat(same)
        .as("(%s, %s) vs (%s, %s)", t1, f1, t2, f2)
        .isEqualTo(t1.equals(t2) && f1.equals(f2));
  }
}
