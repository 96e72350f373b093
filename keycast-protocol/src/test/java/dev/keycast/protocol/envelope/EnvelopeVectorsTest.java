package dev.keycast.protocol.envelope;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keycast.protocol.DecryptionFailedException;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.VectorDirs;
import dev.keycast.protocol.crypto.CryptoBackend;
import dev.keycast.protocol.crypto.CryptoBackends;
import dev.keycast.protocol.crypto.TestBackends;
import dev.keycast.protocol.hpke.X25519PrivateKey;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Committed golden envelopes open to the committed metadata and secret (and re-sealing with the
 * same keys and randomness reproduces them byte for byte); every committed negative vector fails
 * with the error its name states ({@code <what>.<code>.fail}).
 */
class EnvelopeVectorsTest {

  @Test
  void regenerateWhenAsked() throws Exception {
    String dir = System.getenv("KEYCAST_WRITE_VECTORS");
    org.junit.jupiter.api.Assumptions.assumeTrue(
        dir != null, "set KEYCAST_WRITE_VECTORS=<vectors/envelope dir> to rewrite the vectors");
    EnvelopeVectors.writeAll(Path.of(dir));
  }

  static DeliveryFormat<?> formatOf(String name) {
    return formatOf(name, CryptoBackends.java());
  }

  static DeliveryFormat<?> formatOf(String name, CryptoBackend backend) {
    if (name.startsWith("cms-aes256gcm")) {
      return CmsDeliveryFormat.AES_256_GCM.withBackend(backend);
    }
    if (name.startsWith("cms-aes256cbc")) {
      return CmsDeliveryFormat.AES_256_CBC.withBackend(backend);
    }
    return HpkeDeliveryFormat.INSTANCE.withBackend(backend);
  }

  static Stream<Arguments> backendsAndGoldens() {
    List<Arguments> out = new java.util.ArrayList<>();
    for (String b : TestBackends.names()) {
      for (String g :
          List.of(
              EnvelopeVectors.GCM_SKI,
              EnvelopeVectors.GCM_CERT,
              EnvelopeVectors.CBC_SKI,
              EnvelopeVectors.HPKE)) {
        out.add(Arguments.of(b, g));
      }
    }
    return out.stream();
  }

  /** Opens, and re-seals byte for byte, with each backend (same random draws, same order). */
  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("backendsAndGoldens")
  void goldenOpensToCommittedValues(String backend, String name) throws Exception {
    CryptoBackend b = TestBackends.get(backend);
    EnvelopeVectors.Expected e = EnvelopeVectors.Expected.load();
    byte[] env = TestKeys.resource("golden/" + name);
    OpenedDelivery d = DeliveryFormatTest.openUnchecked(formatOf(name, b), env);
    RecipientKey k =
        name.equals(EnvelopeVectors.HPKE)
            ? TestKeys.x25519Recipient()
            : TestKeys.rsaRecipient(2048);
    assertThat(d.metadata()).isEqualTo(e.metadataFor(k));
    assertThat(d.metadata().secretId()).isEqualTo("studio-7/film-42/reel-1");
    assertThat(d.metadata().senderLabel()).isEqualTo("Studio \u03a9 distribution");
    assertThat(d.secret()).isEqualTo(e.secret());
    assertThat(EnvelopeVectors.seal(name, e, b))
        .as("deterministic re-seal of %s with %s", name, backend)
        .isEqualTo(env);
  }

  @ParameterizedTest
  @ValueSource(
      strings = {EnvelopeVectors.GCM_SKI, EnvelopeVectors.GCM_CERT, EnvelopeVectors.CBC_SKI})
  void goldenCmsFailsWithWrongKey(String name) throws Exception {
    @SuppressWarnings("unchecked")
    DeliveryFormat<java.security.interfaces.RSAPrivateKey> f =
        (DeliveryFormat<java.security.interfaces.RSAPrivateKey>) formatOf(name);
    byte[] env = TestKeys.resource("golden/" + name);
    assertThatThrownBy(() -> f.open(TestKeys.rsaPrivate(4096), env))
        .isInstanceOf(DecryptionFailedException.class);
  }

  @ParameterizedTest
  @MethodSource("dev.keycast.protocol.crypto.TestBackends#names")
  void goldenHpkeFailsWithWrongKey(String backend) throws Exception {
    CryptoBackend b = TestBackends.get(backend);
    byte[] env = TestKeys.resource("golden/" + EnvelopeVectors.HPKE);
    X25519PrivateKey other = X25519PrivateKey.generate(new DeterministicRandom("other key"));
    assertThatThrownBy(() -> HpkeDeliveryFormat.INSTANCE.withBackend(b).open(other, env))
        .isInstanceOf(DecryptionFailedException.class);
  }

  static Stream<Arguments> negatives() throws Exception {
    Path root = negativeRoot();
    List<Arguments> out = new java.util.ArrayList<>();
    for (String backend : TestBackends.names()) {
      for (String format : List.of("cms-aes256gcm", "cms-aes256cbc", "hpke-x25519")) {
        for (Path p : VectorDirs.files(root.resolve(format), ".fail")) {
          out.add(Arguments.of(backend, format + "/" + p.getFileName(), p));
        }
      }
    }
    assertThat(out).hasSizeGreaterThan(80);
    return out.stream();
  }

  private static Path negativeRoot() throws URISyntaxException {
    return Path.of(EnvelopeVectorsTest.class.getResource("/vectors/envelope/negative").toURI());
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("negatives")
  void negativeVectorFailsAsNamed(String backend, String name, Path file) throws Exception {
    CryptoBackend b = TestBackends.get(backend);
    String fileName = file.getFileName().toString();
    // named age-style: <expected>-<what>.fail (codes have no hyphen)
    String expected = fileName.substring(0, fileName.indexOf('-'));
    byte[] env = Files.readAllBytes(file);
    var thrown = assertThatThrownBy(() -> DeliveryFormatTest.openUnchecked(formatOf(name, b), env));
    if (expected.equals("decryption_failed")) {
      thrown
          .isInstanceOf(DecryptionFailedException.class)
          .hasMessage(DecryptionFailedException.MESSAGE);
    } else {
      thrown.isInstanceOfSatisfying(
          MalformedInputException.class, ex -> assertThat(ex.code()).isEqualTo(expected));
    }
  }
}
