package dev.keycast.protocol.envelope;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.keycast.protocol.crypto.TestBackends;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The real {@code openssl cms -decrypt} reads what {@link CmsDeliveryFormat} writes, and {@link
 * DeliveryPayload#decode} turns openssl's output into metadata and secret.
 */
class CmsOpensslInteropTest {
  private static boolean opensslPresent;

  @BeforeAll
  static void findOpenssl() {
    try {
      Process p = new ProcessBuilder("openssl", "version").redirectErrorStream(true).start();
      opensslPresent = p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
    } catch (IOException | InterruptedException e) {
      opensslPresent = false;
    }
  }

  static Stream<Arguments> cases() {
    return TestBackends.names().stream()
        .flatMap(
            backend ->
                Stream.of(2048, 3072, 4096)
                    .flatMap(
                        bits ->
                            Stream.of(CmsDeliveryFormat.AES_256_GCM, CmsDeliveryFormat.AES_256_CBC)
                                .map(f -> Arguments.of(backend, f, bits))));
  }

  /** Envelopes sealed with either backend's RSA-OAEP. */
  @ParameterizedTest(name = "{0} {1} RSA-{2}")
  @MethodSource("cases")
  void opensslDecryptsTheExpectedPayload(
      String backend, CmsDeliveryFormat baseFormat, int bits, @TempDir Path dir) throws Exception {
    assumeTrue(opensslPresent, "the openssl binary is not on PATH; this interop test needs it");
    CmsDeliveryFormat format = baseFormat.withBackend(TestBackends.get(backend));
    RsaRecipientKey key = TestKeys.rsaRecipient(bits);
    DeliveryMetadata md = DeliveryFormatTest.metadataFor(key);
    byte[] secret = new byte[48];
    new SecureRandom().nextBytes(secret);
    byte[] envelope = format.seal(key, md, secret, new SecureRandom());

    Path in = Files.write(dir.resolve("delivery.der"), envelope);
    Path keyPem =
        Files.write(dir.resolve("key.pem"), TestKeys.resource("keys/rsa-" + bits + ".key.pem"));
    Path out = dir.resolve("payload.bin");
    Process p =
        new ProcessBuilder(
                List.of(
                    "openssl",
                    "cms",
                    "-decrypt",
                    "-binary",
                    "-inform",
                    "DER",
                    "-in",
                    in.toString(),
                    "-inkey",
                    keyPem.toString(),
                    "-out",
                    out.toString()))
            .redirectErrorStream(true)
            .start();
    String log = new String(p.getInputStream().readAllBytes());
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as("openssl output: %s", log).isZero();

    byte[] fromOpenssl = Files.readAllBytes(out);
    assertThat(fromOpenssl)
        .isEqualTo(DeliveryPayload.encode(md, secret, format.payloadIntegrity()));
    OpenedDelivery d = DeliveryPayload.decode(fromOpenssl);
    assertThat(d.metadata()).isEqualTo(md);
    assertThat(d.secret()).isEqualTo(secret);
  }
}
