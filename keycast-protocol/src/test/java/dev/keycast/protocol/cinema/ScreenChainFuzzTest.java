package dev.keycast.protocol.cinema;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.keycast.protocol.fuzz.FuzzContract;
import dev.keycast.protocol.fuzz.FuzzContract.Outcome;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.interfaces.RSAPublicKey;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Coverage-guided fuzz target for {@link DcCertificateChainValidator#validateScreen}: the ST 430-2
 * check of the chains anyone admitted may register as a screen (the host's pre-check) and that the
 * host hands the enclave with every KDM send (the enclave's check, which decides who gets keys).
 *
 * <p>Input: {@code u8 count} then {@code count} times {@code u16 length || DER certificate}, leaf
 * first; inputs the JDK's certificate parser refuses are not the target and end the run early.
 *
 * <p>Contract: only {@link CinemaException} with a {@code screen_certificate*} code escapes;
 * allocation stays linear in the input; an accepted chain really is what ST 430-2 asks of a
 * screen, checked here independently of the validator: 2 to 8 certificates, each signed by the
 * next with SHA-256 with RSA, the last self-signed, every key RSA-2048 with exponent 65537, the
 * leaf's CN naming the SM role before its first '.', and the instant inside every validity.
 */
class ScreenChainFuzzTest {
  private static final long ALLOCATION_PER_BYTE = 512;

  /** The instant chains are validated at; the seeds are valid at it. */
  static final Instant AT = Instant.parse("2027-06-01T00:00:00Z");

  @FuzzTest
  void validateScreen(byte[] input) {
    List<X509Certificate> chain = certificates(input);
    if (chain == null) {
      return;
    }
    Outcome<ScreenCertificateChain> checked =
        FuzzContract.typedOnly(
            input,
            ALLOCATION_PER_BYTE,
            () -> DcCertificateChainValidator.validateScreen(chain, AT),
            CinemaException.class);
    if (!checked.ok()) {
      CinemaException e = (CinemaException) checked.error();
      assertThat(e.code()).matches(FuzzContract.ERROR_CODE).startsWith("screen_certificate");
      return;
    }
    assertThat(chain).hasSizeBetween(2, DcCertificateChainValidator.MAX_CHAIN_LENGTH);
    for (int i = 0; i < chain.size(); i++) {
      X509Certificate c = chain.get(i);
      X509Certificate issuer = chain.get(Math.min(i + 1, chain.size() - 1));
      assertThat(c.getSigAlgOID()).isEqualTo("1.2.840.113549.1.1.11");
      assertThat(c.getIssuerX500Principal()).isEqualTo(issuer.getSubjectX500Principal());
      assertThat(verifies(c, issuer)).as("certificate %d is signed by the next", i).isTrue();
      RSAPublicKey key = (RSAPublicKey) c.getPublicKey();
      assertThat(key.getModulus().bitLength()).isEqualTo(2048);
      assertThat(key.getPublicExponent()).isEqualTo(BigInteger.valueOf(65537));
      assertThat(c.getNotBefore().toInstant()).isBeforeOrEqualTo(AT);
      assertThat(c.getNotAfter().toInstant()).isAfterOrEqualTo(AT);
    }
    String cn = checked.value().leafSubjectName().replaceAll("(?s).*CN=([^,]*).*", "$1");
    assertThat(cn.substring(0, Math.max(0, cn.indexOf('.'))).split(" ")).contains("SM");
  }

  private static boolean verifies(X509Certificate c, X509Certificate issuer) {
    try {
      c.verify(issuer.getPublicKey());
      return true;
    } catch (Exception e) {
      return false;
    }
  }

  /** The certificates of {@code input}, or null when the framing or the JDK's parser refuses it. */
  static List<X509Certificate> certificates(byte[] input) {
    if (input.length < 1) {
      return null;
    }
    ByteBuffer in = ByteBuffer.wrap(input);
    int count = in.get() & 0xff;
    if (count < 1 || count > DcCertificateChainValidator.MAX_CHAIN_LENGTH + 1) {
      return null;
    }
    List<X509Certificate> out = new ArrayList<>();
    try {
      CertificateFactory cf = CertificateFactory.getInstance("X.509");
      for (int i = 0; i < count; i++) {
        if (in.remaining() < 2) {
          return null;
        }
        int length = in.getShort() & 0xffff;
        if (length > in.remaining()) {
          return null;
        }
        byte[] der = new byte[length];
        in.get(der);
        out.add((X509Certificate) cf.generateCertificate(new ByteArrayInputStream(der)));
      }
    } catch (CertificateException | RuntimeException e) {
      return null;
    }
    return in.hasRemaining() ? null : out;
  }

  static byte[] frame(List<X509Certificate> chain) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(chain.size());
    for (X509Certificate c : chain) {
      byte[] der = c.getEncoded();
      out.write(der.length >> 8);
      out.write(der.length);
      out.write(der);
    }
    return out.toByteArray();
  }

  /**
   * Writes the seed corpus (run with {@code -Dkeycast.fuzz.writeSeeds=true}): a valid screen chain
   * and one chain for each rule broken, valid at {@link #AT}.
   */
  @Test
  @EnabledIfSystemProperty(named = "keycast.fuzz.writeSeeds", matches = "true")
  void writeSeeds() throws Exception {
    SecureRandom random = new SecureRandom();
    Instant from = Instant.parse("2026-01-01T00:00:00Z");
    Instant to = Instant.parse("2036-01-01T00:00:00Z");
    TestScreens.Manufacturer m = TestScreens.manufacturer("TESTMAKER", from, to, true, random);
    TestScreens.Spec valid = TestScreens.Spec.valid(from, to);
    List<List<X509Certificate>> seeds = new ArrayList<>();
    seeds.add(TestScreens.screen(m, valid, random).chain());
    seeds.add(
        TestScreens.screen(m, valid.withCommonName("LE SPB.IMB-000002.DC.TESTMAKER.SMPTE"), random)
            .chain());
    seeds.add(
        TestScreens.screen(m, valid.withKey(1024, BigInteger.valueOf(65537)), random).chain());
    seeds.add(TestScreens.screen(m, valid.withKey(2048, BigInteger.valueOf(3)), random).chain());
    seeds.add(TestScreens.screen(m, valid.withUtf8Names(), random).chain());
    seeds.add(TestScreens.screen(m, valid.withWrongDnQualifier(), random).chain());
    seeds.add(
        TestScreens.screen(
                m, valid.withValidity(from, Instant.parse("2027-01-01T00:00:00Z")), random)
            .chain());
    seeds.add(TestScreens.screen(m, valid.withSignatureAlgorithm("SHA1withRSA"), random).chain());
    Path dir =
        Path.of(
            "src/test/resources/dev/keycast/protocol/cinema/ScreenChainFuzzTestInputs/validateScreen");
    Files.createDirectories(dir);
    for (List<X509Certificate> chain : seeds) {
      byte[] seed = frame(chain);
      String name = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1").digest(seed));
      Files.write(dir.resolve(name), seed);
    }
    assertThat(Files.list(dir).count()).isGreaterThanOrEqualTo(seeds.size());
  }
}
