package dev.keycast.mock.nitro;

import dev.keycast.protocol.Fingerprints;
import dev.keycast.protocol.attestation.Attester;
import dev.keycast.protocol.attestation.AttesterException;
import dev.keycast.protocol.attestation.CoseSign1;
import dev.keycast.protocol.cbor.CborWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.HexFormat;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Mock-enclave mode's {@link Attester}: issues attestation documents in exactly the NSM's format,
 * signed by a local mock PKI instead of AWS Nitro hardware. <b>Not an enclave.</b>
 *
 * <p>Document: untagged COSE_Sign1 {@code [h'a1013822', {}, payload, signature]}; the payload map
 * holds, in the NSM's order, {@code module_id}, {@code digest = "SHA384"}, {@code timestamp}
 * (milliseconds, always a 64-bit uint), {@code pcrs} (16 entries 0..15 of 48 bytes: PCR0-2 from
 * {@link MockMeasurements}, all others zero, PCR8 included), {@code certificate} (leaf DER),
 * {@code cabundle} ([root, intermediate]), {@code public_key}, {@code user_data}, {@code nonce}
 * (byte string or null); the signature is ES384 raw {@code r || s} (96 bytes) over the RFC 8152
 * Sig_structure {@code ["Signature1", h'a1013822', h'', payload]}.
 *
 * <p>State directory: {@code mock-root.pem}/{@code .key}, {@code mock-intermediate.pem}/{@code
 * .key}, {@code mock-leaf.pem}/{@code .key} (keys PKCS#8 PEM, mode 0600), and {@code
 * measurements.json} (nitro-cli shape) which clients pin together with {@code mock-root.pem}. The
 * root is generated on first start and reused afterwards; the leaf lives 3 hours and is replaced
 * when less than 30 minutes remain.
 *
 * <p>Thread-safe.
 */
public final class MockAttester implements Attester {
  private static final Logger log = LoggerFactory.getLogger(MockAttester.class);

  /** The COSE protected header {@code {1: -35}} (alg ES384), as a byte string's content. */
  static final byte[] PROTECTED_ES384 = {(byte) 0xa1, 0x01, 0x38, 0x22};

  /** The empty unprotected header ({@code a0}). */
  private static final byte[] EMPTY_MAP = {(byte) 0xa0};

  /** File name of the measurements in nitro-cli's JSON shape. */
  public static final String MEASUREMENTS_FILE = "measurements.json";

  /** File name of the mock root certificate (PEM) that clients pin to trust mock documents. */
  public static final String ROOT_FILE = MockPki.ROOT + ".pem";

  private static final int PCR_COUNT = 16;

  private final Path stateDir;
  private final MockMeasurements measurements;
  private final Clock clock;
  private final MockPki pki;
  private final String moduleId;

  private MockAttester(Path stateDir, MockMeasurements measurements, Clock clock, MockPki pki) {
    this.stateDir = stateDir;
    this.measurements = measurements;
    this.clock = clock;
    this.pki = pki;
    String rootFp = Fingerprints.of(pki.rootCertificate().getPublicKey());
    this.moduleId = "i-mock-enc" + rootFp.substring(0, 16);
  }

  /** A mock attester measuring this JVM's classpath, on the system clock. */
  public static MockAttester create(Path stateDir) throws IOException, GeneralSecurityException {
    return create(stateDir, MockMeasurements.ofRunningJvm(), Clock.systemUTC());
  }

  /**
   * A mock attester with the given measurements and clock; loads or creates the PKI in
   * {@code stateDir} and (re)writes {@value #MEASUREMENTS_FILE}.
   */
  public static MockAttester create(Path stateDir, MockMeasurements measurements, Clock clock)
      throws IOException, GeneralSecurityException {
    Objects.requireNonNull(measurements, "measurements");
    Objects.requireNonNull(clock, "clock");
    MockPki pki = MockPki.open(stateDir, clock.instant(), new SecureRandom());
    MockPki.writeAtomically(
        stateDir,
        MEASUREMENTS_FILE,
        measurements.toNitroCliJson().getBytes(StandardCharsets.UTF_8),
        PosixFilePermissions.fromString("rw-r--r--"));
    MockAttester a = new MockAttester(stateDir, measurements, clock, pki);
    a.banner();
    return a;
  }

  private void banner() {
    String line = "*".repeat(78);
    log.warn(
        "\n{}\n*** MOCK ENCLAVE MODE: THIS PROCESS IS NOT RUNNING IN A NITRO ENCLAVE.\n"
            + "*** Attestation documents are signed by a LOCAL MOCK ROOT, not by AWS.\n"
            + "*** Anyone with access to {} can forge them. Never trust this root in production.\n"
            + "*** mock root SPKI SHA-256: {}\n*** PCR0: {}\n{}",
        line,
        stateDir,
        Fingerprints.of(pki.rootCertificate().getPublicKey()),
        HexFormat.of().formatHex(measurements.pcr0()),
        line);
  }

  @Override
  public byte[] attest(byte[] userData, byte[] nonce, byte[] publicKey) throws AttesterException {
    check("user_data", userData);
    check("nonce", nonce);
    check("public_key", publicKey);
    try {
      long now = clock.millis();
      MockPki.Issued leaf;
      X509Certificate intermediate;
      synchronized (pki) {
        leaf = pki.leaf(clock.instant());
        intermediate = pki.intermediateCertificate();
      }
      byte[] zero = new byte[MockMeasurements.PCR_BYTES];
      CborWriter pcrs = new CborWriter().map(PCR_COUNT);
      for (int i = 0; i < PCR_COUNT; i++) {
        pcrs.uint(i);
        pcrs.bytes(
            switch (i) {
              case 0 -> measurements.pcr0();
              case 1 -> measurements.pcr1();
              case 2 -> measurements.pcr2();
              default -> zero;
            });
      }
      byte[] payload =
          new CborWriter()
              .map(9)
              .text("module_id")
              .text(moduleId)
              .text("digest")
              .text("SHA384")
              .text("timestamp")
              .uint64Fixed(now)
              .text("pcrs")
              .raw(pcrs.toByteArray())
              .text("certificate")
              .bytes(leaf.certificate().getEncoded())
              .text("cabundle")
              .array(2)
              .bytes(pki.rootCertificate().getEncoded())
              .bytes(intermediate.getEncoded())
              .text("public_key")
              .bytesOrNull(publicKey)
              .text("user_data")
              .bytesOrNull(userData)
              .text("nonce")
              .bytesOrNull(nonce)
              .toByteArray();
      Signature signer = Signature.getInstance("SHA384withECDSAinP1363Format");
      signer.initSign(leaf.key());
      signer.update(CoseSign1.toBeSigned(PROTECTED_ES384, payload));
      byte[] signature = signer.sign();
      return CoseSign1.encode(PROTECTED_ES384, EMPTY_MAP, payload, signature);
    } catch (IOException | GeneralSecurityException e) {
      throw new AttesterException("the mock attester could not sign a document", e);
    }
  }

  private static void check(String name, byte[] value) {
    if (value != null && value.length > Attester.MAX_FIELD_BYTES) {
      throw new IllegalArgumentException(
          name
              + " is "
              + value.length
              + " bytes; at most "
              + Attester.MAX_FIELD_BYTES
              + " allowed");
    }
  }

  @Override
  public boolean isMock() {
    return true;
  }

  @Override
  public String describe() {
    return "MOCK attester (not a Nitro Enclave), module "
        + moduleId
        + ", mock root SPKI SHA-256 "
        + Fingerprints.of(pki.rootCertificate().getPublicKey())
        + ", state "
        + stateDir;
  }

  /** The mock root certificate that a client must explicitly trust to accept these documents. */
  public X509Certificate rootCertificate() {
    return pki.rootCertificate();
  }

  /** The PCRs reported in every document. */
  public MockMeasurements measurements() {
    return measurements;
  }

  /** The state directory holding the PKI, {@value #ROOT_FILE} and {@value #MEASUREMENTS_FILE}. */
  public Path stateDirectory() {
    return stateDir;
  }

  @Override
  public String toString() {
    return "MockAttester[" + moduleId + "]";
  }
}
