package dev.keycast.protocol.hpke;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.bouncycastle.crypto.digests.SHA256Digest;
import org.bouncycastle.crypto.generators.HKDFBytesGenerator;
import org.bouncycastle.crypto.hpke.HPKEContextWithEncapsulation;
import org.bouncycastle.crypto.params.HKDFParameters;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
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
    assertThat(labeledExpand(suiteId, secret, "exp", ksc, 32))
        .isEqualTo(v.get("exporter_secret"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("baseSetups")
  void everyEncryptionMatchesAndOpens(Rfc9180Vectors.Setup v) throws Exception {
    HpkeSuite suite =
        new HpkeSuite(v.intField("kem_id"), v.intField("kdf_id"), v.intField("aead_id"));
    X25519PrivateKey skR = X25519PrivateKey.fromRaw(v.get("skRm"));
    HPKEContextWithEncapsulation sender =
        Hpke.setupSender(suite, skR.publicKey(), v.get("info"), v.get("ikmE"));
    assertThat(sender.getEncapsulation()).isEqualTo(v.get("enc"));
    int seq = 0;
    for (Rfc9180Vectors.Encryption e : v.encryptions()) {
      while (seq < e.seq()) { // advance the sequence number over unlisted messages
        sender.seal(new byte[0], new byte[0]);
        seq++;
      }
      assertThat(sender.seal(e.aad(), e.pt())).as("seq %d", e.seq()).isEqualTo(e.ct());
      seq++;
    }
    // Single-shot API: sequence 0 through the public seal/open.
    Rfc9180Vectors.Encryption first = v.encryptions().getFirst();
    assertThat(first.seq()).isZero();
    HpkeCiphertext c =
        Hpke.sealWithEphemeralIkm(
            suite, skR.publicKey(), v.get("info"), first.aad(), first.pt(), v.get("ikmE"));
    assertThat(c.enc()).isEqualTo(v.get("enc"));
    assertThat(c.ciphertext()).isEqualTo(first.ct());
    assertThat(
            Hpke.open(
                suite, skR, v.get("info"), first.aad(), new HpkeCiphertext(v.get("enc"), first.ct())))
        .isEqualTo(first.pt());
  }

  /** Exported values come from BouncyCastle's own context, so they check its exporter_secret. */
  @ParameterizedTest(name = "{0}")
  @MethodSource("baseSetups")
  void exportedValuesMatch(Rfc9180Vectors.Setup v) throws Exception {
    HpkeSuite suite =
        new HpkeSuite(v.intField("kem_id"), v.intField("kdf_id"), v.intField("aead_id"));
    X25519PrivateKey skR = X25519PrivateKey.fromRaw(v.get("skRm"));
    HPKEContextWithEncapsulation sender =
        Hpke.setupSender(suite, skR.publicKey(), v.get("info"), v.get("ikmE"));
    for (Rfc9180Vectors.Export e : v.exports()) {
      assertThat(sender.export(e.context(), e.length())).isEqualTo(e.value());
    }
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
