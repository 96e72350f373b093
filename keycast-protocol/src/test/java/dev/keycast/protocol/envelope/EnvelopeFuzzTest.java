package dev.keycast.protocol.envelope;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.keycast.protocol.DecryptionFailedException;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.fuzz.FuzzContract;
import dev.keycast.protocol.fuzz.FuzzContract.Outcome;
import dev.keycast.protocol.hpke.X25519PrivateKey;
import java.security.interfaces.RSAPrivateKey;
import java.util.List;

/**
 * Coverage-guided fuzz targets for opening deliveries, which the CLI fetches from the untrusted
 * host: CMS EnvelopedData (RSA-OAEP, AES-256-GCM or -CBC) and the HPKE envelope.
 *
 * <p>Contract: only {@link MalformedInputException} (stable code) or {@link
 * DecryptionFailedException} (its one message) escapes; allocation stays linear in the input;
 * whatever opens is authentic: the golden secret and metadata (the fuzzer cannot forge RSA-OAEP,
 * AES-GCM or HPKE). The CMS recipient identifier is not authenticated by CMS and not matched by
 * the reader (the key and the fingerprint inside the payload are), so an envelope whose
 * identifier was altered still opens, to the same content; see fuzzing.md.
 */
class EnvelopeFuzzTest {
  private static final long ALLOCATION_PER_BYTE = 64;
  private static final RSAPrivateKey RSA = rsa();
  private static final X25519PrivateKey X25519 = x25519();
  private static final List<byte[]> GOLDEN =
      List.of(
          TestKeys.resource("golden/" + EnvelopeVectors.GCM_SKI),
          TestKeys.resource("golden/" + EnvelopeVectors.GCM_CERT),
          TestKeys.resource("golden/" + EnvelopeVectors.CBC_SKI),
          TestKeys.resource("golden/" + EnvelopeVectors.HPKE));

  @FuzzTest
  void openCms(byte[] input) {
    for (CmsDeliveryFormat format :
        List.of(CmsDeliveryFormat.AES_256_GCM, CmsDeliveryFormat.AES_256_CBC)) {
      check(
          input,
          FuzzContract.typedOnly(
              input,
              ALLOCATION_PER_BYTE,
              () -> format.open(RSA, input),
              MalformedInputException.class,
              DecryptionFailedException.class));
    }
  }

  @FuzzTest
  void openHpke(byte[] input) {
    check(
        input,
        FuzzContract.typedOnly(
            input,
            ALLOCATION_PER_BYTE,
            () -> HpkeDeliveryFormat.INSTANCE.open(X25519, input),
            MalformedInputException.class,
            DecryptionFailedException.class));
  }

  private static void check(byte[] input, Outcome<OpenedDelivery> opened) {
    if (opened.ok()) {
      assertThat(input.length)
          .as("only a golden envelope's length opens")
          .isIn(GOLDEN.stream().map(g -> g.length).toList());
      assertThat(opened.value().secret()).isEqualTo(EnvelopeVectors.DEFAULT.secret());
      assertThat(opened.value().metadata().secretId())
          .isEqualTo(EnvelopeVectors.DEFAULT.secretId());
    } else if (opened.error() instanceof DecryptionFailedException d) {
      assertThat(d).hasMessage(DecryptionFailedException.MESSAGE);
    }
  }

  private static RSAPrivateKey rsa() {
    try {
      return TestKeys.rsaPrivate(2048);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private static X25519PrivateKey x25519() {
    try {
      return TestKeys.x25519Private();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
