package dev.keycast.protocol.keyset;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keycast.protocol.DecryptionFailedException;
import dev.keycast.protocol.cinema.CinemaException;
import dev.keycast.protocol.cinema.DcCertificateChainValidator;
import dev.keycast.protocol.cinema.DcCertificateIssuer;
import dev.keycast.protocol.cinema.KdmSigner;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Sealed key set version 2 (wire-format.md 4.3): the KDM signer chain in the authenticated header,
 * its private keys in the ciphertext; and the version 5 key bundle that carries the chain (4.2).
 */
class SealedKeySetSignerTest {
  static final byte[] DATA_KEY = FixedRandom.bytes("signer-test/data-key", 32);
  static final byte[] EDK = FixedRandom.bytes("signer-test/edk", 100);
  static final String KMS = "arn:aws:kms:us-east-1:111122223333:key/abc";
  static final Instant NOW = Instant.parse("2026-12-07T00:00:00Z");
  static KeySet keySet;
  static KdmSignerKeys signer;
  static KdmSignerKeys otherSigner;

  @BeforeAll
  static void keys() throws Exception {
    keySet = KeySet.generate(new SecureRandom());
    signer = KdmSignerKeys.generate(keySet.id(), NOW, 10, new SecureRandom());
    otherSigner = KdmSignerKeys.generate(keySet.id(), NOW, 10, new SecureRandom());
  }

  @AfterAll
  static void destroy() {
    keySet.destroy();
  }

  static byte[] sealed() {
    return SealedKeySet.seal(keySet, signer, DATA_KEY, KMS, EDK, new SecureRandom()).encode();
  }

  @Test
  void generatedSignerIsAnSt4302SignerChainNamingTheKeySet() throws Exception {
    List<X509Certificate> chain = signer.chain();
    assertThat(chain).hasSize(3);
    DcCertificateChainValidator.validate(
        DcCertificateChainValidator.Kind.SIGNER, chain, NOW.plusSeconds(3600));
    assertThat(chain.get(0).getSubjectX500Principal().getName())
        .contains("CN=CS.keycast-kdm-signer")
        .contains("OU=" + keySet.id())
        .contains("O=Keycast");
    assertThat(chain.get(2).getSubjectX500Principal().getName()).contains("CN=.keycast-kdm-root");
    for (X509Certificate c : chain) {
      assertThat(c.getNotAfter().toInstant())
          .isBeforeOrEqualTo(
              NOW.atOffset(ZoneOffset.UTC)
                  .plusYears(DcCertificateIssuer.MAX_VALIDITY_YEARS)
                  .toInstant());
    }
    assertThat(signer.privateKeyCount()).isEqualTo(3);
    assertThat(signer.toString()).doesNotContain("PRIVATE").contains("CS.keycast-kdm-signer");
  }

  @Test
  void version2RoundTripsTheKeySetAndTheSigner() throws Exception {
    byte[] bytes = sealed();
    SealedKeySet parsed = SealedKeySet.parse(bytes);
    assertThat(parsed.version()).isEqualTo(2);
    assertThat(parsed.signerChain())
        .zipSatisfy(signer.chainDer(), (a, b) -> assertThat(a).isEqualTo(b));
    SealedKeySet.Unsealed u = parsed.open(DATA_KEY);
    assertThat(u.keySet().id()).isEqualTo(keySet.id());
    assertThat(u.keySet().storageKey()).isEqualTo(keySet.storageKey());
    KdmSignerKeys back = u.kdmSigner().orElseThrow();
    assertThat(back.privateKeyCount()).isEqualTo(3);
    for (int i = 0; i < 3; i++) {
      assertThat(back.privateKey(i).getEncoded()).isEqualTo(signer.privateKey(i).getEncoded());
    }
    KdmSigner kdm = back.signer();
    assertThat(kdm.leaf()).isEqualTo(signer.chain().get(0));
    // the bundle of the header carries the chain (version 5) and round-trips
    KeyBundle bundle = parsed.bundle();
    assertThat(bundle.version()).isEqualTo(KeyBundle.VERSION_WITH_KDM_SIGNER);
    assertThat(KeyBundle.parse(bundle.encode())).isEqualTo(bundle);
    assertThat(bundle).isEqualTo(u.keySet().bundle(KMS).withKdmSignerChain(signer.chainDer()));
    u.keySet().destroy();
  }

  @Test
  void version1StillParsesAndUnsealsWithoutASigner() throws Exception {
    byte[] v1 = SealedKeySet.sealVersion1(keySet, DATA_KEY, KMS, EDK, new SecureRandom()).encode();
    SealedKeySet parsed = SealedKeySet.parse(v1);
    assertThat(parsed.version()).isEqualTo(1);
    assertThat(parsed.signerChain()).isEmpty();
    SealedKeySet.Unsealed u = parsed.open(DATA_KEY);
    assertThat(u.kdmSigner()).isEmpty();
    assertThat(u.keySet().id()).isEqualTo(keySet.id());
    assertThat(parsed.bundle().version()).isEqualTo(KeyBundle.VERSION);
    // and the committed golden version 1 vector still opens
    SealedKeySet golden = SealedKeySet.parse(KeySetVectors.goldenSealedKeySet());
    assertThat(golden.version()).isEqualTo(1);
    golden.unseal(KeySetVectors.DATA_KEY).destroy();
    u.keySet().destroy();
  }

  @Test
  void hostSwapsTheSignerChainInTheSealedHeader() throws Exception {
    byte[] bytes = sealed();
    SealedKeySet parsed = SealedKeySet.parse(bytes);
    int chainAt =
        bytes.length
            - (parsed.signerChain().stream().mapToInt(c -> 2 + c.length).sum() + 1)
            - ciphertextLength(bytes, parsed);
    // another valid signer chain of the same key set id, spliced into the header
    byte[] swapped =
        spliceChain(bytes, chainAt, otherSigner.chainDer(), ciphertextLength(bytes, parsed));
    assertThat(SealedKeySet.parse(swapped).signerChain().get(0))
        .isEqualTo(otherSigner.chainDer().get(0));
    assertThatThrownBy(() -> SealedKeySet.parse(swapped).open(DATA_KEY))
        .isInstanceOf(DecryptionFailedException.class);
    // one bit of the leaf certificate flipped
    byte[] flipped = bytes.clone();
    flipped[chainAt + 1 + 2 + 100] ^= 0x01;
    assertThatThrownBy(() -> SealedKeySet.parse(flipped).open(DATA_KEY))
        .isInstanceOf(DecryptionFailedException.class);
  }

  @Test
  void authenticHeaderNamingAnotherSignerChainIsRefusedByTheKeyMatch() throws Exception {
    // the sealing party (a host that knows the data key) names another chain than the sealed keys'
    byte[] bytes =
        SealedKeySet.seal(
                keySet, signer, otherSigner.chainDer(), DATA_KEY, KMS, EDK, new SecureRandom())
            .encode();
    assertThatThrownBy(() -> SealedKeySet.parse(bytes).open(DATA_KEY))
        .isInstanceOf(DecryptionFailedException.class);
  }

  @Test
  void sealedChainThatIsNotASignerChainIsRefused() throws Exception {
    // the leaf's key is sealed and matches, but the header's chain stops at the intermediate
    // (no self-signed root): not an ST 430-2 signer chain
    KdmSignerKeys leafOnly = KdmSignerKeys.of(signer.chain(), List.of(signer.privateKey(0)));
    List<byte[]> noRoot = signer.chainDer().subList(0, 2);
    assertThatThrownBy(
            () -> KdmSignerKeys.of(signer.chain().subList(0, 2), List.of(signer.privateKey(0))))
        .isInstanceOf(CinemaException.class)
        .extracting(e -> ((CinemaException) e).code())
        .isEqualTo("signer_certificate_chain_order");
    byte[] bytes =
        SealedKeySet.seal(keySet, leafOnly, noRoot, DATA_KEY, KMS, EDK, new SecureRandom())
            .encode();
    assertThatThrownBy(() -> SealedKeySet.parse(bytes).open(DATA_KEY))
        .isInstanceOf(DecryptionFailedException.class);
    // the same keys under the whole chain open
    byte[] good =
        SealedKeySet.seal(keySet, leafOnly, DATA_KEY, KMS, EDK, new SecureRandom()).encode();
    assertThat(SealedKeySet.parse(good).open(DATA_KEY).kdmSigner().orElseThrow().privateKeyCount())
        .isEqualTo(1);
  }

  @Test
  void parseCapsTheChain() throws Exception {
    byte[] bytes = sealed();
    SealedKeySet parsed = SealedKeySet.parse(bytes);
    int ct = ciphertextLength(bytes, parsed);
    int chainAt =
        bytes.length - ct - (parsed.signerChain().stream().mapToInt(c -> 2 + c.length).sum() + 1);
    byte[] one = bytes.clone();
    one[chainAt] = 1;
    KeySetTest.assertCode(() -> SealedKeySet.parse(one), "malformed");
    byte[] nine = bytes.clone();
    nine[chainAt] = 9;
    KeySetTest.assertCode(() -> SealedKeySet.parse(nine), "malformed");
    byte[] longCert = bytes.clone();
    longCert[chainAt + 1] = 0x10;
    longCert[chainAt + 2] = 0x01; // 4097
    KeySetTest.assertCode(() -> SealedKeySet.parse(longCert), "malformed");
    KeySetTest.assertCode(
        () -> SealedKeySet.parse(Arrays.copyOf(bytes, bytes.length - ct + 20)), "truncated");
    KeySetTest.assertCode(
        () -> SealedKeySet.parse(Arrays.copyOf(bytes, SealedKeySet.MAX_ENCODED + 1)), "oversize");
  }

  @Test
  void bundleVersion5BindsTheChainIntoUserData() throws Exception {
    KeyBundle plain = keySet.bundle(KMS).withKmsKeyCheck(new KmsKeyCheck(true, new byte[32]));
    KeyBundle with = plain.withKdmSignerChain(signer.chainDer());
    KeyBundle other = plain.withKdmSignerChain(otherSigner.chainDer());
    assertThat(with.userData()).isNotEqualTo(plain.userData()).isNotEqualTo(other.userData());
    assertThat(KeyBundle.parse(with.encode())).isEqualTo(with);
    KeyBundle all = with.withSenderSet(new KeyBundle.SenderSetRef(7, new byte[32]));
    assertThat(KeyBundle.parse(all.encode())).isEqualTo(all);
    assertThat(KeyBundle.parse(all.encode()).senderSet().orElseThrow().version()).isEqualTo(7);
    byte[] enc = with.encode();
    KeySetTest.assertCode(() -> KeyBundle.parse(Arrays.copyOf(enc, enc.length + 1)), "malformed");
    KeySetTest.assertCode(() -> KeyBundle.parse(Arrays.copyOf(enc, enc.length - 1)), "truncated");
    KeySetTest.assertCode(
        () -> KeyBundle.parse(Arrays.copyOf(enc, KeyBundle.MAX_ENCODED_WITH_KDM_SIGNER + 1)),
        "oversize");
  }

  private static int ciphertextLength(byte[] bytes, SealedKeySet parsed) {
    // header = fixed v1 header + chain; ciphertext = the rest
    int v1Header =
        4
            + 1
            + 1
            + 35
            + 2
            + parsed.kmsKeyId().length()
            + 64
            + 2
            + parsed.encryptedDataKey().length
            + 12;
    int chain = 1 + parsed.signerChain().stream().mapToInt(c -> 2 + c.length).sum();
    return bytes.length - v1Header - chain;
  }

  private static byte[] spliceChain(byte[] bytes, int chainAt, List<byte[]> chain, int ctLength) {
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    out.write(bytes, 0, chainAt);
    out.write(chain.size());
    for (byte[] c : chain) {
      out.write(c.length >>> 8);
      out.write(c.length);
      out.writeBytes(c);
    }
    out.write(bytes, bytes.length - ctLength, ctLength);
    return out.toByteArray();
  }
}
