package dev.keycast.enclave.attest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.keycast.mock.nitro.MockAttester;
import dev.keycast.mock.nitro.MockMeasurements;
import dev.keycast.protocol.attestation.Attester;
import dev.keycast.protocol.cbor.CborNull;
import dev.keycast.protocol.cbor.CborReader;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.Signature;
import java.security.cert.CertPath;
import java.security.cert.CertPathValidator;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.Date;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MockAttesterTest {
  private static final HexFormat HEX = HexFormat.of();
  private static final Instant T0 = Instant.parse("2026-11-23T02:00:00.123Z");

  @TempDir Path tmp;

  /** A clock tests move by hand. */
  static final class MovableClock extends Clock {
    Instant now;

    MovableClock(Instant now) {
      this.now = now;
    }

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return now;
    }
  }

  private MockMeasurements measurements(String content) throws Exception {
    Path jar = tmp.resolve("app-" + content.hashCode() + ".jar");
    Files.writeString(jar, content);
    return MockMeasurements.of(List.of(jar), "test-runtime");
  }

  /** The parts of a decoded document. */
  record Doc(
      byte[] protectedHeader,
      Map<?, ?> unprotected,
      byte[] payload,
      byte[] signature,
      Map<?, ?> map) {
    X509Certificate leaf() throws Exception {
      return cert((byte[]) map.get("certificate"));
    }

    List<X509Certificate> cabundle() throws Exception {
      List<?> raw = (List<?>) map.get("cabundle");
      return List.of(cert((byte[]) raw.get(0)), cert((byte[]) raw.get(1)));
    }
  }

  static X509Certificate cert(byte[] der) throws Exception {
    return (X509Certificate)
        CertificateFactory.getInstance("X.509").generateCertificate(new ByteArrayInputStream(der));
  }

  static Doc decode(byte[] document) throws Exception {
    List<?> cose = (List<?>) CborReader.decode(document, NsmClient.CBOR_OPTIONS);
    assertThat(cose).hasSize(4);
    byte[] payload = (byte[]) cose.get(2);
    return new Doc(
        (byte[]) cose.get(0),
        (Map<?, ?>) cose.get(1),
        payload,
        (byte[]) cose.get(3),
        (Map<?, ?>) CborReader.decode(payload, NsmClient.CBOR_OPTIONS));
  }

  static boolean signatureVerifies(Doc d) throws Exception {
    Signature v = Signature.getInstance("SHA384withECDSAinP1363Format");
    v.initVerify(d.leaf().getPublicKey());
    // Sig_structure built independently (NITRO-FACTS 2.3): 84 6a "Signature1" 44 a1013822 40 59
    // LLLL payload
    assertThat(d.protectedHeader()).isEqualTo(HEX.parseHex("a1013822"));
    int n = d.payload().length;
    assertThat(n).isBetween(256, 65535);
    v.update(HEX.parseHex("846a5369676e61747572653144a101382240"));
    v.update(new byte[] {0x59, (byte) (n >>> 8), (byte) n});
    v.update(d.payload());
    return v.verify(d.signature());
  }

  static void validateChain(Doc d, X509Certificate root, Instant at) throws Exception {
    List<X509Certificate> bundle = d.cabundle();
    // NITRO-FACTS 2.3 step 5: [certificate, cabundle[n-1], ..., cabundle[1]], pinned root as anchor
    CertPath path =
        CertificateFactory.getInstance("X.509").generateCertPath(List.of(d.leaf(), bundle.get(1)));
    PKIXParameters params = new PKIXParameters(Set.of(new TrustAnchor(root, null)));
    params.setRevocationEnabled(false);
    params.setDate(Date.from(at));
    CertPathValidator.getInstance("PKIX").validate(path, params);
  }

  @Test
  void documentHasTheNsmFormat() throws Exception {
    MovableClock clock = new MovableClock(T0);
    MockMeasurements m = measurements("code v1");
    MockAttester a = MockAttester.create(tmp.resolve("state"), m, clock);
    byte[] userData = "bundle digest".getBytes(StandardCharsets.UTF_8);
    byte[] nonce = HEX.parseHex("00112233445566778899aabbccddeeff");
    byte[] doc = a.attest(userData, nonce, null);

    // untagged COSE_Sign1, protected {1:-35}, empty unprotected map, payload bstr with 2-byte
    // length
    assertThat(HEX.formatHex(doc)).startsWith("8444a1013822a059");
    Doc d = decode(doc);
    assertThat(d.protectedHeader()).isEqualTo(HEX.parseHex("a1013822"));
    assertThat(d.unprotected()).isEmpty();
    assertThat(d.signature()).hasSize(96);

    Map<?, ?> p = d.map();
    assertThat(List.<Object>copyOf(p.keySet()))
        .containsExactly(
            "module_id",
            "digest",
            "timestamp",
            "pcrs",
            "certificate",
            "cabundle",
            "public_key",
            "user_data",
            "nonce");
    assertThat((String) p.get("module_id")).startsWith("i-mock-enc");
    assertThat(p.get("digest")).isEqualTo("SHA384");
    assertThat(p.get("timestamp")).isEqualTo(T0.toEpochMilli());
    // timestamp encoded as a 64-bit uint like the NSM does
    assertThat(HEX.formatHex(d.payload()))
        .contains("6974696d657374616d701b" + String.format("%016x", T0.toEpochMilli()));
    Map<?, ?> pcrs = (Map<?, ?>) p.get("pcrs");
    assertThat(List.<Object>copyOf(pcrs.keySet()))
        .containsExactly(0L, 1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L, 10L, 11L, 12L, 13L, 14L, 15L);
    assertThat((byte[]) pcrs.get(0L)).isEqualTo(m.pcr0());
    assertThat((byte[]) pcrs.get(1L)).isEqualTo(m.pcr1());
    assertThat((byte[]) pcrs.get(2L)).isEqualTo(m.pcr2());
    for (long i = 3; i < 16; i++) {
      assertThat((byte[]) pcrs.get(i)).as("PCR%d", i).isEqualTo(new byte[48]);
    }
    assertThat(p.get("public_key")).isEqualTo(CborNull.INSTANCE);
    assertThat((byte[]) p.get("user_data")).isEqualTo(userData);
    assertThat((byte[]) p.get("nonce")).isEqualTo(nonce);
    List<X509Certificate> bundle = d.cabundle();
    assertThat(bundle.get(0)).isEqualTo(a.rootCertificate());
    assertThat(bundle.get(1).getSubjectX500Principal())
        .isEqualTo(d.leaf().getIssuerX500Principal());
    assertThat(a.isMock()).isTrue();
    assertThat(a.describe()).contains("MOCK");
  }

  @Test
  void documentHasTheShapeOfARealNitroDocument() throws Exception {
    Path vector =
        Path.of(System.getProperty("keycast.vectors"), "attestation", "nitrite-production.b64");
    byte[] real = java.util.Base64.getMimeDecoder().decode(Files.readString(vector).trim());
    Doc r = decode(real);
    MockAttester a =
        MockAttester.create(tmp.resolve("state"), measurements("x"), new MovableClock(T0));
    byte[] max = new byte[Attester.MAX_FIELD_BYTES];
    byte[] mock = a.attest(max, max, max);
    Doc d = decode(mock);
    // same COSE prefix (untagged array, protected {1:-35}, empty unprotected, bstr with 2-byte
    // length)
    assertThat(HEX.formatHex(mock, 0, 8)).isEqualTo(HEX.formatHex(real, 0, 8));
    assertThat(d.protectedHeader()).isEqualTo(r.protectedHeader());
    assertThat(List.<Object>copyOf(d.map().keySet()))
        .isEqualTo(List.<Object>copyOf(r.map().keySet()));
    for (Object key : r.map().keySet()) {
      assertThat(d.map().get(key).getClass())
          .as("type of %s", key)
          .isEqualTo(r.map().get(key).getClass());
    }
    Map<?, ?> realPcrs = (Map<?, ?>) r.map().get("pcrs");
    Map<?, ?> mockPcrs = (Map<?, ?>) d.map().get("pcrs");
    assertThat(List.<Object>copyOf(mockPcrs.keySet()))
        .isEqualTo(List.<Object>copyOf(realPcrs.keySet()));
    // the timestamp uses the 8-byte uint form in both
    String ts = "6974696d657374616d70";
    assertThat(HEX.formatHex(d.payload())).contains(ts + "1b");
    assertThat(HEX.formatHex(r.payload())).contains(ts + "1b");
    assertThat(r.signature()).hasSize(d.signature().length);
    // and the real one, wrapped as the NSM would, comes back intact through NsmClient
    byte[] response = NsmClientTest.ok("Attestation", w -> w.map(1).text("document").bytes(real));
    assertThat(new NsmClient(new FakeNsmDevice().answer(response)).attestation(null, null, null))
        .isEqualTo(real);
  }

  @Test
  void signatureVerifiesAgainstTheLeafAndBreaksOnTamper() throws Exception {
    MockAttester a =
        MockAttester.create(tmp.resolve("state"), measurements("x"), new MovableClock(T0));
    byte[] doc = a.attest(null, new byte[] {1}, new byte[] {2, 3});
    Doc d = decode(doc);
    assertThat(signatureVerifies(d)).isTrue();
    byte[] tampered = d.payload().clone();
    tampered[tampered.length - 1] ^= 1; // last byte of the nonce
    assertThat(
            signatureVerifies(
                new Doc(d.protectedHeader(), d.unprotected(), tampered, d.signature(), d.map())))
        .isFalse();
  }

  @Test
  void chainBuildsToTheMockRootOnlyAndHasNitroExtensions() throws Exception {
    MockAttester a =
        MockAttester.create(tmp.resolve("state"), measurements("x"), new MovableClock(T0));
    Doc d = decode(a.attest(null, null, null));
    validateChain(d, a.rootCertificate(), T0);

    MockAttester other =
        MockAttester.create(tmp.resolve("other"), measurements("x"), new MovableClock(T0));
    assertThatThrownBy(() -> validateChain(d, other.rootCertificate(), T0))
        .isInstanceOf(CertPathValidatorException.class);
    assertThatThrownBy(
            () ->
                validateChain(d, a.rootCertificate(), T0.plus(Duration.ofHours(3)).plusSeconds(1)))
        .isInstanceOf(CertPathValidatorException.class);

    X509Certificate root = a.rootCertificate();
    X509Certificate interm = d.cabundle().get(1);
    X509Certificate leaf = d.leaf();
    assertThat(root.getCriticalExtensionOIDs()).contains("2.5.29.19", "2.5.29.15");
    assertThat(root.getBasicConstraints()).isEqualTo(Integer.MAX_VALUE);
    assertThat(root.getKeyUsage()[5]).isTrue(); // keyCertSign
    assertThat(interm.getBasicConstraints()).isZero();
    assertThat(interm.getKeyUsage()[5]).isTrue();
    assertThat(leaf.getBasicConstraints()).isEqualTo(-1);
    assertThat(leaf.getKeyUsage()[0]).isTrue(); // digitalSignature
    assertThat(leaf.getKeyUsage()[5]).isFalse();
    assertThat(leaf.getNotAfter().getTime() - leaf.getNotBefore().getTime())
        .isEqualTo(Duration.ofHours(3).toMillis());
    for (X509Certificate c : List.of(root, interm, leaf)) {
      assertThat(c.getSigAlgName()).isEqualTo("SHA384withECDSA");
      assertThat(c.getPublicKey().getEncoded()).hasSize(120); // P-384 SubjectPublicKeyInfo
    }
  }

  @Test
  void pcr0FollowsTheMeasuredBytes() throws Exception {
    Path jar = tmp.resolve("app.jar");
    Files.write(jar, new byte[] {1, 2, 3, 4});
    Path classes = Files.createDirectories(tmp.resolve("classes/dev/x"));
    Files.write(classes.resolve("A.class"), new byte[] {9, 9});
    List<Path> cp = List.of(jar, tmp.resolve("classes"));
    MockMeasurements before = MockMeasurements.of(cp, "rt");
    assertThat(MockMeasurements.of(cp, "rt")).isEqualTo(before);

    Files.write(jar, new byte[] {1, 2, 3, 5});
    MockMeasurements jarChanged = MockMeasurements.of(cp, "rt");
    assertThat(jarChanged.pcr0()).isNotEqualTo(before.pcr0());
    assertThat(jarChanged.pcr2()).isNotEqualTo(before.pcr2());
    assertThat(jarChanged.pcr1()).isEqualTo(before.pcr1());

    Files.write(classes.resolve("A.class"), new byte[] {9, 8});
    MockMeasurements classChanged = MockMeasurements.of(cp, "rt");
    assertThat(classChanged.pcr0()).isNotEqualTo(jarChanged.pcr0());

    MockMeasurements runtimeChanged = MockMeasurements.of(cp, "rt2");
    assertThat(runtimeChanged.pcr0()).isNotEqualTo(classChanged.pcr0());
    assertThat(runtimeChanged.pcr1()).isNotEqualTo(classChanged.pcr1());
    assertThat(runtimeChanged.pcr2()).isEqualTo(classChanged.pcr2());
    // three distinct derivations
    assertThat(
            List.of(
                HEX.formatHex(before.pcr0()),
                HEX.formatHex(before.pcr1()),
                HEX.formatHex(before.pcr2())))
        .doesNotHaveDuplicates();
    // the JVM running this test measures to something non-trivial
    assertThat(MockMeasurements.ofRunningJvm().pcr0()).isNotEqualTo(new byte[48]);
  }

  @Test
  void pcrIsATpmExtendFromZero() throws Exception {
    // PCR2 = SHA384(0^48 || C) with C = SHA384("F" || SHA384(file)) for a single jar
    Path jar = tmp.resolve("one.jar");
    Files.write(jar, new byte[] {42});
    java.security.MessageDigest sha = java.security.MessageDigest.getInstance("SHA-384");
    byte[] fileDigest = sha.digest(new byte[] {42});
    sha.update((byte) 'F');
    byte[] c = sha.digest(fileDigest);
    sha.update(new byte[48]);
    byte[] expected = sha.digest(c);
    assertThat(MockMeasurements.of(List.of(jar), "rt").pcr2()).isEqualTo(expected);
  }

  @Test
  void stateIsReusedAcrossInstancesAndPublishedForPinning() throws Exception {
    Path state = tmp.resolve("state");
    MockMeasurements m = measurements("code");
    MockAttester first = MockAttester.create(state, m, new MovableClock(T0));
    Doc d1 = decode(first.attest(null, null, null));
    MockAttester second = MockAttester.create(state, m, new MovableClock(T0.plusSeconds(60)));
    Doc d2 = decode(second.attest(null, null, null));
    assertThat(second.rootCertificate()).isEqualTo(first.rootCertificate());
    assertThat(d2.leaf()).isEqualTo(d1.leaf());
    validateChain(d2, first.rootCertificate(), T0.plusSeconds(60));

    X509Certificate pinned = cert(Files.readAllBytes(state.resolve(MockAttester.ROOT_FILE)));
    assertThat(pinned).isEqualTo(first.rootCertificate());
    for (String key : List.of("mock-root.key", "mock-intermediate.key", "mock-leaf.key")) {
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(state.resolve(key))))
          .as(key)
          .isEqualTo("rw-------");
      assertThat(Files.readString(state.resolve(key))).startsWith("-----BEGIN PRIVATE KEY-----\n");
    }
    JsonNode json =
        new ObjectMapper().readTree(state.resolve(MockAttester.MEASUREMENTS_FILE).toFile());
    JsonNode ms = json.get("Measurements");
    assertThat(ms.get("HashAlgorithm").asText()).isEqualTo("Sha384 { ... }");
    assertThat(ms.get("PCR0").asText()).isEqualTo(HEX.formatHex(m.pcr0())).hasSize(96);
    assertThat(ms.get("PCR1").asText()).isEqualTo(HEX.formatHex(m.pcr1()));
    assertThat(ms.get("PCR2").asText()).isEqualTo(HEX.formatHex(m.pcr2()));
  }

  @Test
  void aKeyThatDoesNotMatchItsRootIsRefused() throws Exception {
    Path state = tmp.resolve("state");
    MockAttester.create(state, measurements("c"), new MovableClock(T0));
    Path otherState = tmp.resolve("other");
    MockAttester.create(otherState, measurements("c"), new MovableClock(T0));
    Files.copy(
        otherState.resolve("mock-root.key"),
        state.resolve("mock-root.key"),
        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    assertThatThrownBy(() -> MockAttester.create(state, measurements("c"), new MovableClock(T0)))
        .isInstanceOf(java.security.GeneralSecurityException.class)
        .hasMessageContaining("does not belong");
  }

  @Test
  void anIntermediateFromAnotherRootIsReplaced() throws Exception {
    Path state = tmp.resolve("state");
    MockAttester a = MockAttester.create(state, measurements("c"), new MovableClock(T0));
    Path otherState = tmp.resolve("other");
    MockAttester.create(otherState, measurements("c"), new MovableClock(T0));
    for (String f : List.of("mock-intermediate.pem", "mock-intermediate.key")) {
      Files.copy(
          otherState.resolve(f),
          state.resolve(f),
          java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }
    MockAttester b = MockAttester.create(state, measurements("c"), new MovableClock(T0));
    assertThat(b.rootCertificate()).isEqualTo(a.rootCertificate());
    Doc d = decode(b.attest(null, null, null));
    validateChain(d, a.rootCertificate(), T0);
    assertThat(signatureVerifies(d)).isTrue();
  }

  @Test
  void leafIsRenewedBeforeItExpires() throws Exception {
    MovableClock clock = new MovableClock(T0);
    MockAttester a = MockAttester.create(tmp.resolve("state"), measurements("c"), clock);
    X509Certificate leaf1 = decode(a.attest(null, null, null)).leaf();

    clock.now = T0.plus(Duration.ofHours(2)); // 1 h left: keep
    Doc d2 = decode(a.attest(null, null, null));
    assertThat(d2.leaf()).isEqualTo(leaf1);

    clock.now = T0.plus(Duration.ofMinutes(2 * 60 + 40)); // 20 min left: renew
    Doc d3 = decode(a.attest(null, null, null));
    assertThat(d3.leaf()).isNotEqualTo(leaf1);
    assertThat(d3.leaf().getPublicKey()).isNotEqualTo(leaf1.getPublicKey());
    assertThat(signatureVerifies(d3)).isTrue();
    validateChain(d3, a.rootCertificate(), clock.now.plus(Duration.ofHours(2)));

    // a restart after the leaf expired also renews it, keeping the root
    clock.now = T0.plus(Duration.ofHours(8));
    MockAttester restarted = MockAttester.create(tmp.resolve("state"), measurements("c"), clock);
    Doc d4 = decode(restarted.attest(null, null, null));
    assertThat(restarted.rootCertificate()).isEqualTo(a.rootCertificate());
    validateChain(d4, a.rootCertificate(), clock.now);
  }

  @Test
  void fieldLimitsMatchTheNsmClient() throws Exception {
    MockAttester a =
        MockAttester.create(tmp.resolve("state"), measurements("c"), new MovableClock(T0));
    byte[] max = new byte[Attester.MAX_FIELD_BYTES];
    Doc d = decode(a.attest(max, max, max));
    assertThat((byte[]) d.map().get("public_key")).hasSize(512);
    assertThatThrownBy(() -> a.attest(null, new byte[513], null))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
