package dev.keycast.protocol.envelope;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.math.BigInteger;
import java.util.Arrays;
import java.util.Random;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.bouncycastle.asn1.ASN1Encoding;
import org.bouncycastle.asn1.ASN1Primitive;
import org.bouncycastle.asn1.ASN1Set;
import org.bouncycastle.asn1.DERNull;
import org.bouncycastle.asn1.DEROctetString;
import org.bouncycastle.asn1.DERSet;
import org.bouncycastle.asn1.cms.AuthEnvelopedData;
import org.bouncycastle.asn1.cms.CMSObjectIdentifiers;
import org.bouncycastle.asn1.cms.ContentInfo;
import org.bouncycastle.asn1.cms.EncryptedContentInfo;
import org.bouncycastle.asn1.cms.EnvelopedData;
import org.bouncycastle.asn1.cms.GCMParameters;
import org.bouncycastle.asn1.cms.IssuerAndSerialNumber;
import org.bouncycastle.asn1.cms.KeyTransRecipientInfo;
import org.bouncycastle.asn1.cms.RecipientIdentifier;
import org.bouncycastle.asn1.cms.RecipientInfo;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.cms.CMSAlgorithm;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link CmsDer} writes exactly the DER that BouncyCastle's ASN.1 classes encode for the same
 * delivery (the encoder the format used before): both content types, both kinds of rid, every
 * RSA size, the OAEP and a PKCS #1 v1.5 key-transport identifier, and content lengths on both
 * sides of each DER length-of-length boundary.
 */
class CmsDerTest {
  static Stream<Arguments> cases() {
    int[] lengths = {
      0, 1, 60, 109, 110, 111, 127, 128, 129, 200, 238, 239, 240, 255, 256, 257, 1000, 65_000,
      65_535, 65_536, 65_700, 70_000
    };
    return Stream.of(true, false)
        .flatMap(
            gcm ->
                Stream.of(true, false)
                    .flatMap(
                        ski ->
                            Stream.of(256, 384, 512)
                                .flatMap(
                                    keyLen ->
                                        Stream.of(true, false)
                                            .flatMap(
                                                oaep ->
                                                    IntStream.of(lengths)
                                                        .mapToObj(
                                                            n ->
                                                                Arguments.of(
                                                                    gcm, ski, keyLen, oaep, n))))));
  }

  @ParameterizedTest(name = "gcm={0} ski={1} key={2} oaep={3} content={4}")
  @MethodSource("cases")
  void writesTheBytesBouncyCastleEncodes(boolean gcm, boolean ski, int keyLen, boolean oaep, int n)
      throws Exception {
    Random r = new Random(31L * n + keyLen + (gcm ? 1 : 0) + (ski ? 2 : 0) + (oaep ? 4 : 0));
    byte[] encryptedKey = bytes(r, keyLen);
    byte[] iv = bytes(r, gcm ? 12 : 16);
    byte[] content = bytes(r, n);
    byte[] tag = gcm ? bytes(r, 16) : null;
    byte[] skiBytes = bytes(r, 32);
    IssuerAndSerialNumber ias =
        new IssuerAndSerialNumber(
            new X500Name("CN=Keycast test CA " + n + ",O=Example,C=DE"),
            new BigInteger(1 + r.nextInt(159), r));
    AlgorithmIdentifier keyWrap =
        oaep
            ? CmsDeliveryFormat.OAEP_SHA256
            : new AlgorithmIdentifier(PKCSObjectIdentifiers.rsaEncryption, DERNull.INSTANCE);

    byte[] rid = ski ? CmsDer.subjectKeyIdRid(skiBytes) : CmsDer.der(ias);
    CmsDer.Layout layout =
        CmsDer.Layout.of(gcm, rid, ski, CmsDer.der(keyWrap), keyLen, iv, n, gcm ? 16 : 0);
    byte[] out = layout.out();
    System.arraycopy(encryptedKey, 0, out, layout.encryptedKeyAt(), keyLen);
    System.arraycopy(content, 0, out, layout.contentAt(), n);
    if (gcm) {
      System.arraycopy(tag, 0, out, layout.tagAt(), 16);
    }

    byte[] expected =
        bouncyCastle(
            gcm,
            ski
                ? new RecipientIdentifier(new DEROctetString(skiBytes))
                : new RecipientIdentifier(ias),
            keyWrap,
            encryptedKey,
            iv,
            content,
            tag);
    assertThat(out).isEqualTo(expected);
    // and it is canonical DER: BouncyCastle parses it and encodes the same bytes again
    assertThat(ASN1Primitive.fromByteArray(out).getEncoded(ASN1Encoding.DER)).isEqualTo(out);
  }

  @Test
  void aBrokenLayoutWouldBeCaught() throws Exception {
    // the comparison above is not vacuous: one byte of difference fails it
    byte[] rid = CmsDer.subjectKeyIdRid(new byte[32]);
    CmsDer.Layout layout =
        CmsDer.Layout.of(
            true, rid, true, CmsDer.der(CmsDeliveryFormat.OAEP_SHA256), 256, new byte[12], 100, 16);
    byte[] expected =
        bouncyCastle(
            true,
            new RecipientIdentifier(new DEROctetString(new byte[32])),
            CmsDeliveryFormat.OAEP_SHA256,
            new byte[256],
            new byte[12],
            new byte[100],
            new byte[16]);
    assertThat(layout.out()).isEqualTo(expected);
    byte[] changed = expected.clone();
    changed[layout.tagAt() - 1] ^= 1;
    assertThat(layout.out()).isNotEqualTo(changed);
  }

  @Test
  void gcmTagOtherThan16IsRefused() {
    assertThatThrownBy(
            () ->
                CmsDer.Layout.of(
                    true,
                    CmsDer.subjectKeyIdRid(new byte[32]),
                    true,
                    CmsDer.der(CmsDeliveryFormat.OAEP_SHA256),
                    256,
                    new byte[12],
                    10,
                    12))
        .isInstanceOf(IllegalArgumentException.class);
  }

  /** The encoder CmsDeliveryFormat used before CmsDer: BouncyCastle's ASN.1 classes. */
  private static byte[] bouncyCastle(
      boolean gcm,
      RecipientIdentifier rid,
      AlgorithmIdentifier keyWrap,
      byte[] encryptedKey,
      byte[] iv,
      byte[] content,
      byte[] tag)
      throws Exception {
    ASN1Set recipients =
        new DERSet(
            new RecipientInfo(
                new KeyTransRecipientInfo(rid, keyWrap, new DEROctetString(encryptedKey))));
    ContentInfo ci;
    if (gcm) {
      EncryptedContentInfo eci =
          new EncryptedContentInfo(
              CMSObjectIdentifiers.data,
              new AlgorithmIdentifier(CMSAlgorithm.AES256_GCM, new GCMParameters(iv, 16)),
              new DEROctetString(content));
      ci =
          new ContentInfo(
              CMSObjectIdentifiers.authEnvelopedData,
              new AuthEnvelopedData(null, recipients, eci, null, new DEROctetString(tag), null));
    } else {
      EncryptedContentInfo eci =
          new EncryptedContentInfo(
              CMSObjectIdentifiers.data,
              new AlgorithmIdentifier(CMSAlgorithm.AES256_CBC, new DEROctetString(iv)),
              new DEROctetString(content));
      ci =
          new ContentInfo(
              CMSObjectIdentifiers.envelopedData,
              new EnvelopedData(null, recipients, eci, (ASN1Set) null));
    }
    return ci.getEncoded(ASN1Encoding.DER);
  }

  private static byte[] bytes(Random r, int n) {
    byte[] b = new byte[n];
    r.nextBytes(b);
    return b;
  }

  @Test
  void lengthsAcrossEveryBoundary() {
    for (int n : new int[] {0, 127, 128, 255, 256, 65_535, 65_536, 16_777_215, 16_777_216}) {
      byte[] out = new byte[CmsDer.tlvLength(n) - n];
      int p = CmsDer.header(out, 0, CmsDer.OCTET_STRING, n);
      assertThat(p).isEqualTo(out.length);
      byte[] bc = Arrays.copyOf(derOctetStringHeader(n), out.length);
      assertThat(out).isEqualTo(bc);
    }
  }

  private static byte[] derOctetStringHeader(int n) {
    if (n > 1_000_000) {
      // building a 16 MiB string is pointless: the header is tag, 0x83/0x84, big-endian length
      int bytes = n < 0x1000000 ? 3 : 4;
      byte[] h = new byte[2 + bytes];
      h[0] = 0x04;
      h[1] = (byte) (0x80 | bytes);
      for (int i = 0; i < bytes; i++) {
        h[2 + i] = (byte) (n >>> (8 * (bytes - 1 - i)));
      }
      return h;
    }
    return CmsDer.der(new DEROctetString(new byte[n]));
  }
}
