package dev.keycast.protocol.hpke;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keycast.protocol.DecryptionFailedException;
import dev.keycast.protocol.crypto.CryptoBackend;
import dev.keycast.protocol.crypto.TestBackends;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.bouncycastle.crypto.digests.SHA256Digest;
import org.bouncycastle.crypto.generators.HKDFBytesGenerator;
import org.bouncycastle.crypto.hpke.HPKE;
import org.bouncycastle.crypto.hpke.HPKEContext;
import org.bouncycastle.crypto.hpke.HPKEContextWithEncapsulation;
import org.bouncycastle.crypto.params.HKDFParameters;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** RFC 9180 Appendix A.1 and A.2, base mode: key schedule and every listed encryption. */
class HpkeRfc9180Test {

  static List<Rfc9180Vectors.Setup> baseSetups() throws Exception {
    return Rfc9180Vectors.baseMode();
  }

  @Test
  void vectorFileHasBothBaseSuites() throws Exception {
    List<Rfc9180Vectors.Setup> base = baseSetups();
    assertThat(base).extracting(s -> s.intField("aead_id")).containsExactly(1, 3);
    assertThat(base).allSatisfy(s -> assertThat(s.encryptions()).hasSize(6));
    assertThat(base).allSatisfy(s -> assertThat(s.exports()).hasSize(3));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("baseSetups")
  void derivedKeyPairsMatch(Rfc9180Vectors.Setup v) throws Exception {
    X25519PrivateKey skR = X25519PrivateKey.fromRaw(v.get("skRm"));
    assertThat(skR.publicKey().toRaw()).isEqualTo(v.get("pkRm"));
    X25519PrivateKey skE = X25519PrivateKey.fromRaw(v.get("skEm"));
    assertThat(skE.publicKey().toRaw()).isEqualTo(v.get("pkEm"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("baseSetups")
  void keyScheduleMatches(Rfc9180Vectors.Setup v) {
    byte[] suiteId = suiteId(v);
    byte[] pskIdHash = labeledExtract(suiteId, new byte[0], "psk_id_hash", new byte[0]);
    byte[] infoHash = labeledExtract(suiteId, new byte[0], "info_hash", v.get("info"));
    byte[] ksc = concat(new byte[] {0}, pskIdHash, infoHash);
    assertThat(ksc).isEqualTo(v.get("key_schedule_context"));
    byte[] secret = labeledExtract(suiteId, v.get("shared_secret"), "secret", new byte[0]);
    assertThat(secret).isEqualTo(v.get("secret"));
    int nk = v.intField("aead_id") == 1 ? 16 : 32;
    assertThat(labeledExpand(suiteId, secret, "key", ksc, nk)).isEqualTo(v.get("key"));
    assertThat(labeledExpand(suiteId, secret, "base_nonce", ksc, 12))
        .isEqualTo(v.get("base_nonce"));
    assertThat(labeledExpand(suiteId, secret, "exp", ksc, 32)).isEqualTo(v.get("exporter_secret"));
  }

  /** Every setup with every backend. */
  static List<Arguments> backendsAndSetups() throws Exception {
    List<Arguments> out = new java.util.ArrayList<>();
    for (String b : TestBackends.names()) {
      for (Rfc9180Vectors.Setup s : baseSetups()) {
        out.add(Arguments.of(b, s));
      }
    }
    return out;
  }

  /** Encap and the key schedule: enc, shared_secret, key, base_nonce, exporter_secret. */
  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("backendsAndSetups")
  void senderAndReceiverKeyScheduleMatch(String backend, Rfc9180Vectors.Setup v) throws Exception {
    CryptoBackend b = TestBackends.get(backend);
    HpkeSuite suite = suite(v);
    X25519PrivateKey skR = X25519PrivateKey.fromRaw(v.get("skRm"));
    assertThat(Dhkem.derivePrivateKey(new HkdfSha256(), v.get("ikmE"))).isEqualTo(v.get("skEm"));
    assertThat(Dhkem.derivePrivateKey(new HkdfSha256(), v.get("ikmR"))).isEqualTo(v.get("skRm"));
    HpkeContext sender = Hpke.setupSender(b, suite, skR.publicKey(), v.get("info"), v.get("ikmE"));
    HpkeContext receiver = Hpke.setupReceiver(b, suite, v.get("enc"), skR, v.get("info"));
    for (HpkeContext ctx : List.of(sender, receiver)) {
      assertThat(ctx.enc()).isEqualTo(v.get("enc"));
      assertThat(ctx.sharedSecret()).isEqualTo(v.get("shared_secret"));
      assertThat(ctx.key()).isEqualTo(v.get("key"));
      assertThat(ctx.baseNonce()).isEqualTo(v.get("base_nonce"));
      assertThat(ctx.exporterSecret()).isEqualTo(v.get("exporter_secret"));
    }
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("backendsAndSetups")
  void everyEncryptionMatchesAndOpens(String backend, Rfc9180Vectors.Setup v) throws Exception {
    CryptoBackend b = TestBackends.get(backend);
    HpkeSuite suite = suite(v);
    X25519PrivateKey skR = X25519PrivateKey.fromRaw(v.get("skRm"));
    HpkeContext sender = Hpke.setupSender(b, suite, skR.publicKey(), v.get("info"), v.get("ikmE"));
    HpkeContext receiver = Hpke.setupReceiver(b, suite, v.get("enc"), skR, v.get("info"));
    assertThat(sender.enc()).isEqualTo(v.get("enc"));
    int seq = 0;
    for (Rfc9180Vectors.Encryption e : v.encryptions()) {
      while (seq < e.seq()) { // advance the sequence number over unlisted messages
        receiver.open(new byte[0], sender.seal(new byte[0], new byte[0]));
        seq++;
      }
      byte[] ct = sender.seal(e.aad(), e.pt());
      assertThat(ct).as("seq %d", e.seq()).isEqualTo(e.ct());
      assertThat(receiver.open(e.aad(), e.ct())).as("open seq %d", e.seq()).isEqualTo(e.pt());
      seq++;
    }
    // Single-shot API: sequence 0 through seal/open.
    Rfc9180Vectors.Encryption first = v.encryptions().getFirst();
    assertThat(first.seq()).isZero();
    HpkeCiphertext c =
        Hpke.sealWithEphemeralIkm(
            b, suite, skR.publicKey(), v.get("info"), first.aad(), first.pt(), v.get("ikmE"));
    assertThat(c.enc()).isEqualTo(v.get("enc"));
    assertThat(c.ciphertext()).isEqualTo(first.ct());
    assertThat(
            Hpke.open(
                b,
                suite,
                skR,
                v.get("info"),
                first.aad(),
                new HpkeCiphertext(v.get("enc"), first.ct())))
        .isEqualTo(first.pt());
    // a wrong tag byte fails the one way
    byte[] bad = first.ct().clone();
    bad[bad.length - 1] ^= 1;
    assertThatThrownBy(
            () ->
                Hpke.open(
                    b,
                    suite,
                    skR,
                    v.get("info"),
                    first.aad(),
                    new HpkeCiphertext(v.get("enc"), bad)))
        .isInstanceOf(DecryptionFailedException.class);
    // the raw key pair as a key set keeps it: same plaintext, and a wrong public key (it is
    // bound in the KEM context) or a wrong tag fails the one way
    HpkeCiphertext good = new HpkeCiphertext(v.get("enc"), first.ct());
    assertThat(
            Hpke.openRaw(b, suite, v.get("skRm"), v.get("pkRm"), v.get("info"), first.aad(), good))
        .isEqualTo(first.pt());
    byte[] otherPk = v.get("pkRm").clone();
    otherPk[0] ^= 1;
    assertThatThrownBy(
            () -> Hpke.openRaw(b, suite, v.get("skRm"), otherPk, v.get("info"), first.aad(), good))
        .isInstanceOf(DecryptionFailedException.class);
    assertThatThrownBy(
            () ->
                Hpke.openRaw(
                    b,
                    suite,
                    v.get("skRm"),
                    v.get("pkRm"),
                    v.get("info"),
                    first.aad(),
                    new HpkeCiphertext(v.get("enc"), bad)))
        .isInstanceOf(DecryptionFailedException.class);
    assertThatThrownBy(
            () ->
                Hpke.openRaw(
                    b, suite, new byte[31], v.get("pkRm"), v.get("info"), first.aad(), good))
        .isInstanceOf(DecryptionFailedException.class);
    // the key held by the backend (a key set's receive key): the same, and destroyed it fails
    // the one way
    var held = b.x25519KeyAgreement(v.get("skRm"), v.get("pkRm"));
    var wrongPk = b.x25519KeyAgreement(v.get("skRm"), otherPk);
    try {
      assertThat(Hpke.open(suite, held, v.get("info"), first.aad(), good)).isEqualTo(first.pt());
      assertThatThrownBy(() -> Hpke.open(suite, wrongPk, v.get("info"), first.aad(), good))
          .isInstanceOf(DecryptionFailedException.class);
      assertThatThrownBy(
              () ->
                  Hpke.open(
                      suite,
                      held,
                      v.get("info"),
                      first.aad(),
                      new HpkeCiphertext(v.get("enc"), bad)))
          .isInstanceOf(DecryptionFailedException.class);
      assertThatThrownBy(
              () ->
                  Hpke.open(
                      suite,
                      held,
                      v.get("info"),
                      first.aad(),
                      new HpkeCiphertext(java.util.Arrays.copyOf(v.get("enc"), 31), first.ct())))
          .isInstanceOf(DecryptionFailedException.class);
    } finally {
      held.destroy();
      wrongPk.destroy();
    }
    assertThatThrownBy(() -> Hpke.open(suite, held, v.get("info"), first.aad(), good))
        .isInstanceOf(DecryptionFailedException.class)
        .hasMessage(DecryptionFailedException.MESSAGE);
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("backendsAndSetups")
  void exportedValuesMatch(String backend, Rfc9180Vectors.Setup v) throws Exception {
    CryptoBackend b = TestBackends.get(backend);
    X25519PrivateKey skR = X25519PrivateKey.fromRaw(v.get("skRm"));
    HpkeContext sender =
        Hpke.setupSender(b, suite(v), skR.publicKey(), v.get("info"), v.get("ikmE"));
    for (Rfc9180Vectors.Export e : v.exports()) {
      assertThat(sender.export(e.context(), e.length())).isEqualTo(e.value());
    }
  }

  /**
   * Cross-check with an independent implementation: BouncyCastle's HPKE opens what this package
   * seals, and this package opens what BouncyCastle seals, with either backend.
   */
  @ParameterizedTest(name = "{0}")
  @MethodSource("dev.keycast.protocol.crypto.TestBackends#names")
  void interoperatesWithBouncyCastleHpke(String backend) throws Exception {
    CryptoBackend b = TestBackends.get(backend);
    HPKE bc = new HPKE(HPKE.mode_base, (short) 0x20, (short) 1, (short) 2);
    java.security.SecureRandom r = new java.security.SecureRandom();
    for (int i = 0; i < 20; i++) {
      X25519PrivateKey skR = X25519PrivateKey.generate(r);
      byte[] info = new byte[i];
      byte[] aad = new byte[2 * i];
      byte[] pt = new byte[1 + 3 * i];
      r.nextBytes(info);
      r.nextBytes(aad);
      r.nextBytes(pt);
      HpkeCiphertext c = Hpke.seal(b, HpkeSuite.KEYCAST_V1, skR.publicKey(), info, aad, pt, r);
      HPKEContext rc = bc.setupBaseR(c.enc(), skR.keyPair(), info);
      assertThat(rc.open(aad, c.ciphertext())).isEqualTo(pt);
      HPKEContextWithEncapsulation sc = bc.setupBaseS(skR.publicKey().params(), info);
      byte[] ct = sc.seal(aad, pt);
      assertThat(
              Hpke.open(
                  b,
                  HpkeSuite.KEYCAST_V1,
                  skR,
                  info,
                  aad,
                  new HpkeCiphertext(sc.getEncapsulation(), ct)))
          .isEqualTo(pt);
    }
  }

  private static HpkeSuite suite(Rfc9180Vectors.Setup v) {
    return new HpkeSuite(v.intField("kem_id"), v.intField("kdf_id"), v.intField("aead_id"));
  }

  private static byte[] suiteId(Rfc9180Vectors.Setup v) {
    return concat(
        "HPKE".getBytes(StandardCharsets.US_ASCII),
        i2osp2(v.intField("kem_id")),
        i2osp2(v.intField("kdf_id")),
        i2osp2(v.intField("aead_id")));
  }

  private static byte[] labeledExtract(byte[] suiteId, byte[] salt, String label, byte[] ikm) {
    byte[] labeledIkm =
        concat("HPKE-v1".getBytes(StandardCharsets.US_ASCII), suiteId, label.getBytes(), ikm);
    return new HKDFBytesGenerator(new SHA256Digest()).extractPRK(salt, labeledIkm);
  }

  private static byte[] labeledExpand(
      byte[] suiteId, byte[] prk, String label, byte[] info, int length) {
    byte[] labeledInfo =
        concat(
            i2osp2(length),
            "HPKE-v1".getBytes(StandardCharsets.US_ASCII),
            suiteId,
            label.getBytes(),
            info);
    HKDFBytesGenerator hkdf = new HKDFBytesGenerator(new SHA256Digest());
    hkdf.init(HKDFParameters.skipExtractParameters(prk, labeledInfo));
    byte[] out = new byte[length];
    hkdf.generateBytes(out, 0, length);
    return out;
  }

  private static byte[] i2osp2(int v) {
    return new byte[] {(byte) (v >>> 8), (byte) v};
  }

  private static byte[] concat(byte[]... parts) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (byte[] p : parts) {
      out.writeBytes(p);
    }
    return out.toByteArray();
  }
}
