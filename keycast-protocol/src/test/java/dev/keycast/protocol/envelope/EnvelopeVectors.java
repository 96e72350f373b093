package dev.keycast.protocol.envelope;

import java.io.IOException;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.ASN1Primitive;
import org.bouncycastle.asn1.DERNull;
import org.bouncycastle.asn1.cms.AuthEnvelopedData;
import org.bouncycastle.asn1.cms.ContentInfo;
import org.bouncycastle.asn1.cms.EncryptedContentInfo;
import org.bouncycastle.asn1.cms.EnvelopedData;
import org.bouncycastle.asn1.cms.GCMParameters;
import org.bouncycastle.asn1.cms.KeyTransRecipientInfo;
import org.bouncycastle.asn1.cms.RecipientInfo;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;

/**
 * Builds the committed golden and negative envelope vectors from fixed keys and a deterministic
 * random. Run with {@code KEYCAST_WRITE_VECTORS=<.../src/test/resources/vectors/envelope>} to
 * rewrite them (see {@link EnvelopeVectorsTest#regenerateWhenAsked()}).
 */
final class EnvelopeVectors {
  static final String GCM_SKI = "cms-aes256gcm-rsa2048-ski.der";
  static final String GCM_CERT = "cms-aes256gcm-rsa2048-cert.der";
  static final String CBC_SKI = "cms-aes256cbc-rsa2048-ski.der";
  static final String HPKE = "hpke-x25519.bin";

  private EnvelopeVectors() {}

  /** The expected contents of every golden vector, as committed in golden/expected.properties. */
  record Expected(
      String secretId, String senderLabel, Instant notBefore, Instant notAfter, byte[] secret) {
    DeliveryMetadata metadataFor(RecipientKey k) {
      return DeliveryMetadata.of(secretId, senderLabel, notBefore, notAfter, k.fingerprint());
    }

    static Expected load() throws IOException {
      Properties p = new Properties();
      p.load(
          new StringReader(
              new String(TestKeys.resource("golden/expected.properties"), StandardCharsets.UTF_8)));
      return new Expected(
          p.getProperty("secretId"),
          p.getProperty("senderLabel"),
          Instant.parse(p.getProperty("notBefore")),
          Instant.parse(p.getProperty("notAfter")),
          HexFormat.of().parseHex(p.getProperty("secret")));
    }
  }

  static final Expected DEFAULT =
      new Expected(
          "studio-7/film-42/reel-1",
          "Studio \u03a9 distribution",
          Instant.parse("2026-01-01T00:00:00Z"),
          Instant.parse("2026-12-31T23:59:59Z"),
          HexFormat.of()
              .parseHex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"));

  static DeterministicRandom randomFor(String name) {
    return new DeterministicRandom("keycast golden vector " + name);
  }

  static byte[] seal(String name, Expected e) throws Exception {
    return seal(name, e, dev.keycast.protocol.crypto.CryptoBackends.java());
  }

  /** The golden envelope {@code name} sealed again with {@code backend}'s public-key primitives. */
  static byte[] seal(String name, Expected e, dev.keycast.protocol.crypto.CryptoBackend backend)
      throws Exception {
    return switch (name) {
      case GCM_SKI -> {
        RsaRecipientKey k = TestKeys.rsaRecipient(2048);
        yield CmsDeliveryFormat.AES_256_GCM
            .withBackend(backend)
            .seal(k, e.metadataFor(k), e.secret(), randomFor(name));
      }
      case GCM_CERT -> {
        RsaRecipientKey k = TestKeys.rsaRecipientWithCert();
        yield CmsDeliveryFormat.AES_256_GCM
            .withBackend(backend)
            .seal(k, e.metadataFor(k), e.secret(), randomFor(name));
      }
      case CBC_SKI -> {
        RsaRecipientKey k = TestKeys.rsaRecipient(2048);
        yield CmsDeliveryFormat.AES_256_CBC
            .withBackend(backend)
            .seal(k, e.metadataFor(k), e.secret(), randomFor(name));
      }
      case HPKE -> {
        X25519RecipientKey k = TestKeys.x25519Recipient();
        yield HpkeDeliveryFormat.INSTANCE
            .withBackend(backend)
            .seal(k, e.metadataFor(k), e.secret(), randomFor(name));
      }
      default -> throw new IllegalArgumentException(name);
    };
  }

  static void writeAll(Path root) throws Exception {
    Expected e = DEFAULT;
    Path golden = Files.createDirectories(root.resolve("golden"));
    Files.writeString(
        golden.resolve("expected.properties"),
        "# What every golden envelope must open to (recipient fingerprint = the key's own).\n"
            + "# Keys: ../keys (test-only). Randomness: SHA-256 counter stream seeded with\n"
            + "# \"keycast golden vector <file name>\" (DeterministicRandom).\n"
            + "secretId="
            + e.secretId()
            + "\n"
            + "senderLabel="
            + e.senderLabel().replace("\u03a9", "\\u03a9")
            + "\n"
            + "notBefore="
            + e.notBefore()
            + "\n"
            + "notAfter="
            + e.notAfter()
            + "\n"
            + "secret="
            + HexFormat.of().formatHex(e.secret())
            + "\n");
    Map<String, byte[]> g = new LinkedHashMap<>();
    for (String n : new String[] {GCM_SKI, GCM_CERT, CBC_SKI, HPKE}) {
      g.put(n, seal(n, e));
      Files.write(golden.resolve(n), g.get(n));
    }
    writeCmsNegatives(
        root.resolve("negative/cms-aes256gcm"),
        g.get(GCM_SKI),
        g.get(CBC_SKI),
        CmsDeliveryFormat.AES_256_GCM,
        e);
    writeCmsNegatives(
        root.resolve("negative/cms-aes256cbc"),
        g.get(CBC_SKI),
        g.get(GCM_SKI),
        CmsDeliveryFormat.AES_256_CBC,
        e);
    writeHpkeNegatives(root.resolve("negative/hpke-x25519"), g.get(HPKE), e);
  }

  private static void writeCmsNegatives(
      Path dir, byte[] env, byte[] otherCipher, CmsDeliveryFormat format, Expected e)
      throws Exception {
    Files.createDirectories(dir);
    ContentInfo ci = ContentInfo.getInstance(ASN1Primitive.fromByteArray(env));
    RecipientInfo ri;
    EncryptedContentInfo eci;
    byte[] iv;
    byte[] mac = null;
    if (format == CmsDeliveryFormat.AES_256_GCM) {
      AuthEnvelopedData d = AuthEnvelopedData.getInstance(ci.getContent());
      ri = RecipientInfo.getInstance(d.getRecipientInfos().getObjectAt(0));
      eci = d.getAuthEncryptedContentInfo();
      iv =
          GCMParameters.getInstance(eci.getContentEncryptionAlgorithm().getParameters()).getNonce();
      mac = d.getMac().getOctets();
    } else {
      EnvelopedData d = EnvelopedData.getInstance(ci.getContent());
      ri = RecipientInfo.getInstance(d.getRecipientInfos().getObjectAt(0));
      eci = d.getEncryptedContentInfo();
      iv =
          ASN1OctetString.getInstance(eci.getContentEncryptionAlgorithm().getParameters())
              .getOctets();
    }
    byte[] ek = KeyTransRecipientInfo.getInstance(ri.getInfo()).getEncryptedKey().getOctets();
    byte[] content = eci.getEncryptedContent().getOctets();
    int ekAt = indexOf(env, ek);
    int ivAt = indexOf(env, iv);
    int contentAt = indexOf(env, content);

    write(dir, "truncated-empty.fail", new byte[0]);
    write(dir, "malformed-not-der.fail", "hello, openssl".getBytes(StandardCharsets.US_ASCII));
    write(dir, "truncated-truncated-last-byte.fail", Arrays.copyOf(env, env.length - 1));
    write(dir, "truncated-truncated-half.fail", Arrays.copyOf(env, env.length / 2));
    write(dir, "malformed-trailing-byte.fail", Arrays.copyOf(env, env.length + 1));
    write(dir, "decryption_failed-flipped-encrypted-key.fail", flip(env, ekAt + ek.length / 2));
    write(dir, "decryption_failed-flipped-iv.fail", flip(env, ivAt));
    write(dir, "decryption_failed-flipped-content-first-byte.fail", flip(env, contentAt));
    // payload bytes 10.. are the secretId inside the metadata
    write(dir, "decryption_failed-altered-metadata-secret-id.fail", flip(env, contentAt + 10));
    write(
        dir,
        "decryption_failed-flipped-content-last-byte.fail",
        flip(env, contentAt + content.length - 1));
    if (mac != null) {
      write(
          dir, "decryption_failed-flipped-mac.fail", flip(env, indexOf(env, mac) + mac.length - 1));
    }
    RsaRecipientKey k = TestKeys.rsaRecipient(2048);
    write(
        dir,
        "unsupported_version-payload-version-2.fail",
        format.sealPayload(
            k,
            DeliveryPayload.encode(2, e.metadataFor(k), e.secret(), format.payloadIntegrity()),
            randomFor(dir + "v2")));
    write(
        dir,
        "decryption_failed-metadata-for-other-recipient.fail",
        format.sealPayload(
            k,
            DeliveryPayload.encode(
                e.metadataFor(TestKeys.rsaRecipient(3072)), e.secret(), format.payloadIntegrity()),
            randomFor(dir + "other")));
    // CBC: a payload without a valid SHA-256 trailer is unauthenticated -> decryption failure;
    // GCM: an authenticated payload that declares the wrong mode -> malformed.
    write(
        dir,
        format == CmsDeliveryFormat.AES_256_CBC
            ? "decryption_failed-wrong-payload-integrity-mode.fail"
            : "malformed-wrong-payload-integrity-mode.fail",
        format.sealPayload(
            k,
            DeliveryPayload.encode(e.metadataFor(k), e.secret(), 1 - format.payloadIntegrity()),
            randomFor(dir + "integrity")));
    write(
        dir,
        "unsupported_algorithm-pkcs1v15-key-transport.fail",
        format.sealPayload(
            k,
            DeliveryPayload.encode(e.metadataFor(k), e.secret(), format.payloadIntegrity()),
            randomFor(dir + "pkcs1"),
            new AlgorithmIdentifier(PKCSObjectIdentifiers.rsaEncryption, DERNull.INSTANCE)));
    write(dir, "unsupported_algorithm-other-content-type.fail", otherCipher);
  }

  private static void writeHpkeNegatives(Path dir, byte[] env, Expected e) throws Exception {
    Files.createDirectories(dir);
    int mdLen = ((env[11] & 0xff) << 8) | (env[12] & 0xff);
    int md = 13;
    int enc = md + mdLen;
    int ct = enc + 32;
    int idLen = env[md + 1] & 0xff;
    int labelLen = ((env[md + 2 + idLen] & 0xff) << 8) | (env[md + 3 + idLen] & 0xff);
    int notAfter = md + 2 + idLen + 2 + labelLen + 8;
    int fingerprint = notAfter + 8;
    write(dir, "truncated-empty.fail", new byte[0]);
    write(dir, "truncated-truncated-3-bytes.fail", Arrays.copyOf(env, 3));
    write(dir, "truncated-truncated-header.fail", Arrays.copyOf(env, 12));
    write(dir, "truncated-truncated-in-enc.fail", Arrays.copyOf(env, enc + 16));
    write(dir, "truncated-truncated-below-tag.fail", Arrays.copyOf(env, ct + 15));
    write(dir, "decryption_failed-truncated-last-byte.fail", Arrays.copyOf(env, env.length - 1));
    write(dir, "decryption_failed-trailing-byte.fail", Arrays.copyOf(env, env.length + 1));
    write(dir, "malformed-bad-magic.fail", flip(env, 0));
    write(dir, "unsupported_version-version-2.fail", set(env, 4, 2));
    write(dir, "unsupported_algorithm-suite-aes128gcm.fail", set(env, 10, 1));
    write(dir, "unsupported_algorithm-suite-kem-flipped.fail", flip(env, 6));
    write(dir, "oversize-metadata-length-ffff.fail", set(set(env, 11, 0xff), 12, 0xff));
    write(dir, "malformed-metadata-length-plus-one.fail", set(env, 12, (env[12] & 0xff) + 1));
    write(dir, "unsupported_version-metadata-version-3.fail", set(env, md, 3));
    write(dir, "decryption_failed-altered-metadata-secret-id.fail", flip(env, md + 2));
    write(
        dir, "decryption_failed-altered-metadata-sender-label.fail", flip(env, md + 2 + idLen + 2));
    write(dir, "decryption_failed-altered-metadata-not-after.fail", flip(env, notAfter + 7));
    write(dir, "decryption_failed-altered-metadata-fingerprint.fail", flip(env, fingerprint + 31));
    write(dir, "decryption_failed-flipped-enc.fail", flip(env, enc + 5));
    write(dir, "decryption_failed-flipped-ciphertext.fail", flip(env, ct));
    write(dir, "decryption_failed-flipped-tag.fail", flip(env, env.length - 1));
  }

  private static void write(Path dir, String name, byte[] b) throws IOException {
    Files.write(dir.resolve(name), b);
  }

  static byte[] flip(byte[] b, int at) {
    byte[] c = b.clone();
    c[at] ^= 0x01;
    return c;
  }

  static byte[] set(byte[] b, int at, int v) {
    byte[] c = b.clone();
    c[at] = (byte) v;
    return c;
  }

  static int indexOf(byte[] hay, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= hay.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (hay[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    throw new IllegalStateException("region not found in envelope");
  }
}
