package dev.keycast.protocol.keyset;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keycast.protocol.MalformedInputException;
import java.math.BigInteger;
import java.security.KeyFactory;
import java.security.MessageDigest;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.spec.EdECPrivateKeySpec;
import java.security.spec.NamedParameterSpec;
import java.security.spec.X509EncodedKeySpec;
import java.security.spec.XECPrivateKeySpec;
import java.security.spec.XECPublicKeySpec;
import java.util.HexFormat;
import javax.crypto.KeyAgreement;
import org.junit.jupiter.api.Test;

class KeySetTest {
  private static final HexFormat HEX = HexFormat.of();

  @Test
  void generatesWellFormedDistinctKeySets() {
    SecureRandom rnd = new SecureRandom();
    KeySet a = KeySet.generate(rnd);
    KeySet b = KeySet.generate(rnd);
    assertThat(a.id()).matches("ks-[0-9a-f]{32}");
    assertThat(KeySet.isWellFormedId(a.id())).isTrue();
    assertThat(a.id()).isNotEqualTo(b.id());
    assertThat(a.storageKey()).hasSize(32).isNotEqualTo(b.storageKey());
    assertThat(KeySet.isWellFormedId("ks-" + "A".repeat(32))).isFalse();
    assertThat(KeySet.isWellFormedId("ks-" + "0".repeat(31))).isFalse();
  }

  @Test
  void receivePublicKeyAgreesWithTheJdkX25519() throws Exception {
    KeySet ks = KeySet.generate(new SecureRandom());
    // JDK: scalar * base point (u = 9) must equal our public key.
    KeyFactory kf = KeyFactory.getInstance("XDH");
    byte[] scalar = ks.receivePrivateKey();
    var priv = kf.generatePrivate(new XECPrivateKeySpec(NamedParameterSpec.X25519, scalar));
    var base =
        kf.generatePublic(new XECPublicKeySpec(NamedParameterSpec.X25519, BigInteger.valueOf(9)));
    KeyAgreement ka = KeyAgreement.getInstance("XDH");
    ka.init(priv);
    ka.doPhase(base, true);
    assertThat(ka.generateSecret()).isEqualTo(ks.receivePublicKey());
    // Our SPKI is what the JDK produces for the same key.
    PublicKey pub =
        kf.generatePublic(
            new X509EncodedKeySpec(ks.bundle(KeySetVectors.KMS_KEY_ID).receivePublicKeySpki()));
    assertThat(pub.getEncoded())
        .isEqualTo(ks.bundle(KeySetVectors.KMS_KEY_ID).receivePublicKeySpki());
  }

  @Test
  void signingKeyAgreesWithTheJdkEd25519() throws Exception {
    KeySet ks = KeySet.generate(new SecureRandom());
    var priv =
        KeyFactory.getInstance("Ed25519")
            .generatePrivate(
                new EdECPrivateKeySpec(NamedParameterSpec.ED25519, ks.signingPrivateKey()));
    Signature s = Signature.getInstance("Ed25519");
    s.initSign(priv);
    s.update(new byte[] {1, 2, 3});
    byte[] sig = s.sign();
    PublicKey pub =
        KeyFactory.getInstance("Ed25519")
            .generatePublic(
                new X509EncodedKeySpec(ks.bundle(KeySetVectors.KMS_KEY_ID).signingPublicKeySpki()));
    s.initVerify(pub);
    s.update(new byte[] {1, 2, 3});
    assertThat(s.verify(sig)).isTrue();
  }

  @Test
  void destroyZeroizesAndToStringShowsNoSecret() {
    KeySet ks = KeySet.generate(new SecureRandom());
    String r = HEX.formatHex(ks.receivePrivateKey());
    String s = HEX.formatHex(ks.signingPrivateKey());
    String k = HEX.formatHex(ks.storageKey());
    assertThat(ks.toString())
        .contains(ks.id())
        .doesNotContain(r)
        .doesNotContain(s)
        .doesNotContain(k);
    KeyBundle bundle = ks.bundle(KeySetVectors.KMS_KEY_ID);
    ks.destroy();
    assertThat(ks.isDestroyed()).isTrue();
    assertThatThrownBy(ks::receivePrivateKey).isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(ks::signingPrivateKey).isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(ks::storageKey).isInstanceOf(IllegalStateException.class);
    assertThat(ks.bundle(KeySetVectors.KMS_KEY_ID)).isEqualTo(bundle);
  }

  @Test
  void copiesHandedOutDoNotAliasTheKeySet() {
    KeySet ks = KeySet.generate(new SecureRandom());
    byte[] k = ks.storageKey();
    java.util.Arrays.fill(k, (byte) 0);
    assertThat(ks.storageKey()).isNotEqualTo(k);
  }

  @Test
  void bundleEncodingIsVersionedAndItsDigestIsTheUserData() throws Exception {
    KeySet ks = KeySetVectors.keySet();
    KeyBundle b = ks.bundle(KeySetVectors.KMS_KEY_ID);
    byte[] enc = b.encode();
    assertThat(HEX.formatHex(enc))
        .startsWith(HEX.formatHex("keycast-key-bundle".getBytes()) + "0223");
    int kmsLen = KeySetVectors.KMS_KEY_ID.length();
    assertThat(enc).hasSize(18 + 2 + 35 + 64 + 2 + kmsLen);
    // u16 length then the ARN, last in the encoding
    assertThat(enc[18 + 2 + 35 + 64]).isEqualTo((byte) (kmsLen >>> 8));
    assertThat(enc[18 + 2 + 35 + 64 + 1]).isEqualTo((byte) kmsLen);
    assertThat(
            new String(
                enc, enc.length - kmsLen, kmsLen, java.nio.charset.StandardCharsets.US_ASCII))
        .isEqualTo(KeySetVectors.KMS_KEY_ID);
    assertThat(b.userData()).isEqualTo(MessageDigest.getInstance("SHA-256").digest(enc));
    assertThat(KeyBundle.parse(enc)).isEqualTo(b);
    assertThat(b.matchesUserData(b.userData())).isTrue();
    assertThat(
            b.matchesUserData(
                KeySetVectors.keySet(KeySetVectors.OTHER_KEY_SET_SEED)
                    .bundle(KeySetVectors.KMS_KEY_ID)
                    .userData()))
        .isFalse();
    // pinned: the same digest the golden sealed-key-set vector records
    assertThat(HEX.formatHex(b.userData()))
        .isEqualTo(
            VectorFile.load("keyset").stream()
                .filter(v -> v.name().equals("ok-golden.ok"))
                .findFirst()
                .orElseThrow()
                .fields()
                .get("user-data"));
  }

  @Test
  void theKmsKeyIdIsBoundIntoTheUserData() throws Exception {
    KeySet ks = KeySetVectors.keySet();
    KeyBundle real = ks.bundle(KeySetVectors.KMS_KEY_ID);
    String attacker = "arn:aws:kms:eu-west-1:111122223333:key/00000000-0000-0000-0000-00000000beef";
    KeyBundle other = ks.bundle(attacker);
    // same keys, another KMS key: a different bundle, a different user_data
    assertThat(other).isNotEqualTo(real);
    assertThat(other.userData()).isNotEqualTo(real.userData());
    assertThat(real.matchesUserData(other.userData())).isFalse();
    assertThat(KeyBundle.parse(other.encode()).kmsKeyId()).isEqualTo(attacker);
    // one byte of the ARN changes the digest
    KeyBundle alias = ks.bundle(KeySetVectors.KMS_KEY_ID.replace("1234abcd", "1234abce"));
    assertThat(alias.matchesUserData(real.userData())).isFalse();
    assertThat(real.toString()).contains(KeySetVectors.KMS_KEY_ID);
  }

  @Test
  void bundleRejectsBadKmsKeyIds() {
    KeySet ks = KeySetVectors.keySet();
    assertThat(ks.bundle("a".repeat(KeyBundle.MAX_KMS_KEY_ID)).encode())
        .hasSize(KeyBundle.MAX_ENCODED);
    for (String bad :
        new String[] {
          null, "", "has space", "tab\t", "\u00e9t\u00e9", "a".repeat(KeyBundle.MAX_KMS_KEY_ID + 1)
        }) {
      assertThatThrownBy(() -> ks.bundle(bad))
          .as(String.valueOf(bad))
          .isInstanceOf(IllegalArgumentException.class);
    }
  }

  @Test
  void theKmsKeyCheckIsBoundIntoTheUserDataAndRoundTrips() throws Exception {
    KeyBundle plain = KeySetVectors.keySet().bundle(KeySetVectors.KMS_KEY_ID);
    byte[] digest = new byte[32];
    digest[0] = 7;
    KeyBundle locked = plain.withKmsKeyCheck(new KmsKeyCheck(true, digest));
    KeyBundle unlocked = plain.withKmsKeyCheck(new KmsKeyCheck(false, digest));
    digest[1] = 1;
    KeyBundle otherPolicy = plain.withKmsKeyCheck(new KmsKeyCheck(true, digest));
    assertThat(locked.encode()[18]).isEqualTo((byte) 3);
    assertThat(locked.encode()).hasSize(plain.encode().length + 33);
    assertThat(KeyBundle.parse(locked.encode())).isEqualTo(locked);
    assertThat(KeyBundle.parse(unlocked.encode())).isEqualTo(unlocked);
    assertThat(locked.kmsKeyLocked()).isTrue();
    assertThat(unlocked.kmsKeyLocked()).isFalse();
    assertThat(plain.kmsKeyLocked()).isFalse();
    // a host cannot flip the verdict, strip it or swap the policy digest without changing user_data
    assertThat(
            java.util.Set.of(
                HEX.formatHex(plain.userData()),
                HEX.formatHex(locked.userData()),
                HEX.formatHex(unlocked.userData()),
                HEX.formatHex(otherPolicy.userData())))
        .hasSize(4);
    byte[] bad = locked.encode();
    bad[bad.length - 33] = 2;
    assertCode(() -> KeyBundle.parse(bad), "malformed");
    assertCode(
        () -> KeyBundle.parse(java.util.Arrays.copyOf(locked.encode(), locked.encode().length + 1)),
        "malformed");
  }

  @Test
  void bundleParseRejectsBadInputWithTypedErrors() {
    byte[] enc = KeySetVectors.keySet().bundle(KeySetVectors.KMS_KEY_ID).encode();
    int lenAt = 18 + 2 + 35 + 64;
    assertCode(() -> KeyBundle.parse(java.util.Arrays.copyOf(enc, enc.length - 1)), "truncated");
    assertCode(() -> KeyBundle.parse(java.util.Arrays.copyOf(enc, lenAt + 2)), "truncated");
    assertCode(() -> KeyBundle.parse(java.util.Arrays.copyOf(enc, lenAt)), "truncated");
    assertCode(() -> KeyBundle.parse(java.util.Arrays.copyOf(enc, enc.length + 1)), "malformed");
    assertCode(
        () -> KeyBundle.parse(java.util.Arrays.copyOf(enc, KeyBundle.MAX_ENCODED + 1)), "oversize");
    byte[] v1 = enc.clone();
    v1[18] = 1; // version 1 bundles had no KMS key id and are no longer accepted
    assertCode(() -> KeyBundle.parse(v1), "unsupported_version");
    byte[] v6 = enc.clone();
    v6[18] = 6;
    assertCode(() -> KeyBundle.parse(v6), "unsupported_version");
    byte[] v4 = enc.clone(); // version 4 needs the presence byte and the 40-byte sender set
    v4[18] = 4;
    assertCode(() -> KeyBundle.parse(v4), "truncated");
    byte[] v3 = enc.clone(); // version 3 needs the 33-byte KMS key check after the KMS key id
    v3[18] = 3;
    assertCode(() -> KeyBundle.parse(v3), "truncated");
    byte[] magic = enc.clone();
    magic[0] = 'K';
    assertCode(() -> KeyBundle.parse(magic), "malformed");
    byte[] zeroLen = enc.clone();
    zeroLen[lenAt] = 0;
    zeroLen[lenAt + 1] = 0;
    assertCode(() -> KeyBundle.parse(zeroLen), "malformed");
    byte[] tooLong = enc.clone();
    tooLong[lenAt] = 0x08;
    tooLong[lenAt + 1] = 0x01; // 2049
    assertCode(() -> KeyBundle.parse(tooLong), "malformed");
    byte[] space = enc.clone();
    space[enc.length - 3] = ' ';
    assertCode(() -> KeyBundle.parse(space), "malformed");
    byte[] idLen = enc.clone();
    idLen[19] = 34;
    assertCode(() -> KeyBundle.parse(idLen), "malformed");
    assertCode(() -> KeyBundle.parse(new byte[3]), "truncated");
  }

  static void assertCode(VectorsTest.Action a, String code) {
    assertThatThrownBy(a::run)
        .isInstanceOf(MalformedInputException.class)
        .extracting(e -> ((MalformedInputException) e).code())
        .isEqualTo(code);
  }

  @org.junit.jupiter.api.Test
  void receiveKeyAgreementIsHeldOnceAndDestroyedWithTheKeySet() throws Exception {
    KeySet ks = KeySet.generate(new java.security.SecureRandom());
    var held = ks.receiveKeyAgreement();
    org.assertj.core.api.Assertions.assertThat(ks.receiveKeyAgreement()).isSameAs(held);
    org.assertj.core.api.Assertions.assertThat(held.publicKey()).isEqualTo(ks.receivePublicKey());
    byte[] peerSk = new byte[32];
    new java.security.SecureRandom().nextBytes(peerSk);
    byte[] peer = new byte[32];
    org.bouncycastle.math.ec.rfc7748.X25519.scalarMultBase(peerSk, 0, peer, 0);
    byte[] expected = new byte[32];
    org.bouncycastle.math.ec.rfc7748.X25519.scalarMult(
        peerSk, 0, ks.receivePublicKey(), 0, expected, 0);
    org.assertj.core.api.Assertions.assertThat(held.sharedSecret(peer)).isEqualTo(expected);
    org.assertj.core.api.Assertions.assertThat(held.toString())
        .doesNotContain(java.util.HexFormat.of().formatHex(ks.receivePrivateKey()));
    ks.destroy();
    org.assertj.core.api.Assertions.assertThat(held.isDestroyed()).isTrue();
    org.assertj.core.api.Assertions.assertThatThrownBy(ks::receiveKeyAgreement)
        .isInstanceOf(IllegalStateException.class);
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> held.sharedSecret(peer))
        .isInstanceOf(IllegalStateException.class);
  }
}
