package dev.keycast.protocol.receipt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.cbor.CBORFactory;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.keyset.KeySet;
import dev.keycast.protocol.keyset.KeySetVectors;
import java.security.KeyFactory;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.spec.X509EncodedKeySpec;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

class ReceiptTest {
  private static final HexFormat HEX = HexFormat.of();

  @Test
  void signsAndVerifiesWithKeySetAndBundle() throws Exception {
    KeySet ks = KeySet.generate(new SecureRandom());
    Receipt r =
        Receipt.of(
            ks.id(),
            "send-1",
            Receipt.Kind.FORWARD,
            Instant.now(),
            new byte[32],
            new byte[32],
            List.of(),
            List.of());
    byte[] cose = ReceiptSigner.sign(r, ks);
    assertThat(ReceiptVerifier.verify(cose, ks.bundle(KeySetVectors.KMS_KEY_ID))).isEqualTo(r);
    assertThat(ReceiptVerifier.verify(cose, ks.signingPublicKey()).kind())
        .isEqualTo(Receipt.Kind.FORWARD);
    KeySet other = KeySet.generate(new SecureRandom());
    assertThatThrownBy(() -> ReceiptVerifier.verify(cose, other.bundle(KeySetVectors.KMS_KEY_ID)))
        .isInstanceOf(ReceiptSignatureException.class);
    assertThatThrownBy(() -> ReceiptSigner.sign(r, other))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> ReceiptVerifier.verify(cose, new byte[31]))
        .isInstanceOf(ReceiptSignatureException.class);
  }

  /**
   * Mutation test (testing.md 2.3): without the 32-byte length check, Ed25519 reads only the first
   * 32 bytes of the key, so a 33-byte "key" that starts with the signer's would verify.
   */
  @Test
  void aSigningKeyLongerThan32BytesIsRefusedEvenWhenItStartsWithTheSignersKey() throws Exception {
    KeySet ks = KeySet.generate(new SecureRandom());
    Receipt r =
        Receipt.of(
            ks.id(),
            "send-1",
            Receipt.Kind.SEND,
            Instant.now(),
            new byte[32],
            new byte[32],
            List.of(),
            List.of());
    byte[] cose = ReceiptSigner.sign(r, ks);
    byte[] longer = Arrays.copyOf(ks.signingPublicKey(), 33);
    assertThatThrownBy(() -> ReceiptVerifier.verify(cose, longer))
        .isInstanceOf(ReceiptSignatureException.class);
  }

  /** Mutation test (testing.md 2.3): the send id's syntax is checked when a receipt is made. */
  @Test
  void aReceiptWithAMalformedSendIdIsRefused() {
    String ks = ReceiptVectors.golden().keySetId();
    for (String bad : List.of("", "x".repeat(129))) {
      assertThatThrownBy(
              () ->
                  Receipt.of(
                      ks,
                      bad,
                      Receipt.Kind.SEND,
                      Instant.EPOCH,
                      new byte[32],
                      new byte[32],
                      List.of(),
                      List.of()))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("sendId");
    }
  }

  /** Mutation test (testing.md 2.3): receipts that differ are not equal (equals is what verifiers compare). */
  @Test
  void receiptsThatDifferAreNotEqual() {
    Receipt g = ReceiptVectors.golden();
    Receipt other =
        Receipt.of(
            g.keySetId(),
            g.sendId() + "x",
            g.kind(),
            g.issuedAt(),
            g.policySha256(),
            g.payloadSha256(),
            g.deliveries(),
            g.skipped());
    assertThat(g).isNotEqualTo(other).isNotEqualTo("receipt").isEqualTo(ReceiptVectors.golden());
  }

  /** Mutation test (testing.md 2.3): the builder's add returns the builder (callers chain it). */
  @Test
  void theBuilderReturnsItselfFromAdd() {
    Receipt g = ReceiptVectors.golden();
    ReceiptBuilder b =
        new ReceiptBuilder(g.keySetId(), g.sendId(), g.kind(), g.policySha256(), g.payloadSha256());
    assertThat(b.add(g.deliveries().get(0))).isSameAs(b);
    assertThat(b.add(g.skipped().get(0))).isSameAs(b);
  }

  @Test
  void coseLayoutAndSignatureCheckOutWithTheJdkAndJackson() throws Exception {
    byte[] cose = ReceiptVectors.goldenCose();
    // d2 = tag 18, 84 = array(4), 43 a10127 = protected {1: -8}, a0 = {}
    assertThat(HEX.formatHex(cose, 0, 7)).isEqualTo("d28443a10127a0");
    byte[] payload = ReceiptVectors.payload(ReceiptVectors.Variant.CANONICAL);
    byte[] sig = Arrays.copyOfRange(cose, cose.length - 64, cose.length);
    assertThat(HEX.formatHex(cose, cose.length - 66, cose.length - 64)).isEqualTo("5840");
    // Sig_structure written out by hand: ["Signature1", h'a10127', h'', payload]
    byte[] head =
        payload.length < 256
            ? new byte[] {0x58, (byte) payload.length}
            : new byte[] {0x59, (byte) (payload.length >>> 8), (byte) payload.length};
    byte[] tbs =
        ReceiptVectors.concat(HEX.parseHex("846a5369676e61747572653143a1012740"), head, payload);
    Signature s = Signature.getInstance("Ed25519");
    s.initVerify(
        KeyFactory.getInstance("Ed25519")
            .generatePublic(
                new X509EncodedKeySpec(
                    KeySetVectors.keySet()
                        .bundle(KeySetVectors.KMS_KEY_ID)
                        .signingPublicKeySpki())));
    s.update(tbs);
    assertThat(s.verify(sig)).isTrue();

    JsonNode n = new ObjectMapper(new CBORFactory()).readTree(payload);
    assertThat(n.get("v").asInt()).isEqualTo(1);
    assertThat(n.get("kind").asText()).isEqualTo("send");
    assertThat(n.get("iat").asLong())
        .isEqualTo(Instant.parse("2026-11-23T02:00:00.123Z").toEpochMilli());
    assertThat(n.get("dlv").size()).isEqualTo(2);
    assertThat(n.get("dlv").get(1).get(1).asText()).isEqualTo("hpke-x25519/1");
    assertThat(HEX.formatHex(n.get("skp").get(0).get(0).binaryValue()))
        .isEqualTo(ReceiptVectors.golden().skipped().get(0).recipientFingerprint());
    List<String> keys = new ArrayList<>();
    n.fieldNames().forEachRemaining(keys::add);
    assertThat(keys).containsExactly("v", "ks", "dlv", "iat", "pay", "pol", "skp", "kind", "send");
  }

  @Test
  void everySingleBitFlipIsRejectedWithATypedError() {
    byte[] g = ReceiptVectors.goldenCose();
    byte[] pk = KeySetVectors.keySet().signingPublicKey();
    int rejected = 0;
    for (int i = 0; i < g.length; i++) {
      for (int bit = 0; bit < 8; bit++) {
        byte[] c = g.clone();
        c[i] ^= (byte) (1 << bit);
        try {
          ReceiptVerifier.verify(c, pk);
          throw new AssertionError("flip of bit " + bit + " in byte " + i + " was accepted");
        } catch (MalformedInputException | ReceiptSignatureException e) {
          rejected++;
        }
      }
    }
    assertThat(rejected).isEqualTo(g.length * 8);
  }

  @Test
  void everyTruncationIsRejected() {
    byte[] g = ReceiptVectors.goldenCose();
    byte[] pk = KeySetVectors.keySet().signingPublicKey();
    for (int n = 0; n < g.length; n++) {
      byte[] c = Arrays.copyOf(g, n);
      assertThatThrownBy(() -> ReceiptVerifier.verify(c, pk))
          .isInstanceOf(MalformedInputException.class);
    }
  }

  @Test
  void recordValidatesItsFields() {
    String id = KeySetVectors.keySet().id();
    String fp = "ab".repeat(32);
    assertThatThrownBy(
            () ->
                new Receipt(
                    2,
                    id,
                    "s",
                    Receipt.Kind.SEND,
                    Instant.EPOCH,
                    new byte[32],
                    new byte[32],
                    List.of(),
                    List.of()))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(
            () ->
                Receipt.of(
                    "ks-x",
                    "s",
                    Receipt.Kind.SEND,
                    Instant.EPOCH,
                    new byte[32],
                    new byte[32],
                    List.of(),
                    List.of()))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(
            () ->
                Receipt.of(
                    id,
                    "s",
                    Receipt.Kind.SEND,
                    Instant.EPOCH,
                    new byte[31],
                    new byte[32],
                    List.of(),
                    List.of()))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(
            () ->
                Receipt.of(
                    id,
                    "s",
                    Receipt.Kind.SEND,
                    Instant.EPOCH.minusMillis(1),
                    new byte[32],
                    new byte[32],
                    List.of(),
                    List.of()))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new Receipt.Delivery("AB".repeat(32), "cms/1", "d", new byte[32]))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new Receipt.Delivery(fp, "CMS", "d", new byte[32]))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new Receipt.Skipped(fp, "not eligible", "m"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new Receipt.Skipped(fp, "x", "line\nbreak"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new Receipt.Skipped(fp, "x", "m".repeat(257)))
        .isInstanceOf(IllegalArgumentException.class);
    Receipt.Delivery d = new Receipt.Delivery(fp, "cms/1", "d", new byte[32]);
    List<Receipt.Delivery> tooMany = java.util.Collections.nCopies(Receipt.MAX_ENTRIES + 1, d);
    assertThatThrownBy(
            () ->
                Receipt.of(
                    id,
                    "s",
                    Receipt.Kind.SEND,
                    Instant.EPOCH,
                    new byte[32],
                    new byte[32],
                    tooMany,
                    List.of()))
        .isInstanceOf(IllegalArgumentException.class);
    Receipt r =
        Receipt.of(
            id,
            "s",
            Receipt.Kind.SEND,
            Instant.ofEpochSecond(1, 999_999),
            new byte[32],
            new byte[32],
            List.of(d),
            List.of());
    assertThat(r.issuedAt()).isEqualTo(Instant.ofEpochSecond(1));
    assertThat(r.toString()).doesNotContain(fp);
  }

  @Test
  void nonAsciiMessageRoundTrips() throws Exception {
    KeySet ks = KeySetVectors.keySet();
    Receipt r =
        Receipt.of(
            ks.id(),
            "s",
            Receipt.Kind.SEND,
            Instant.EPOCH,
            new byte[32],
            new byte[32],
            List.of(),
            List.of(
                new Receipt.Skipped("00".repeat(32), "expired", "gültig bis 2026 — écran 7 🎬")));
    assertThat(ReceiptVerifier.verify(ReceiptSigner.sign(r, ks), ks.signingPublicKey()))
        .isEqualTo(r);
  }

  @Test
  void aSendToOneHundredThousandRecipientsIsOneReceipt() throws Exception {
    KeySet ks = KeySetVectors.keySet();
    SecureRandom rnd = new SecureRandom();
    int n = 100_000;
    List<Receipt.Delivery> ds = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      byte[] f = new byte[32];
      rnd.nextBytes(f);
      byte[] e = new byte[32];
      rnd.nextBytes(e);
      ds.add(
          new Receipt.Delivery(
              HEX.formatHex(f),
              i % 2 == 0 ? "cms-rsa-oaep-aes256gcm/1" : "hpke-x25519/1",
              "dlv-" + i,
              e));
    }
    Receipt r =
        Receipt.of(
            ks.id(),
            "big",
            Receipt.Kind.SEND,
            Instant.now(),
            new byte[32],
            new byte[32],
            ds,
            List.of(new Receipt.Skipped("00".repeat(32), "not_eligible", "no")));
    long t0 = System.nanoTime();
    byte[] cose = ReceiptSigner.sign(r, ks);
    long t1 = System.nanoTime();
    Receipt back = ReceiptVerifier.verify(cose, ks.signingPublicKey());
    long t2 = System.nanoTime();
    assertThat(back).isEqualTo(r);
    System.out.printf(
        "receipt with %d deliveries: %d bytes, sign %d ms, verify+decode %d ms%n",
        n, cose.length, (t1 - t0) / 1_000_000, (t2 - t1) / 1_000_000);
    assertThat(cose.length).isLessThan(n * 120);
  }

  @Test
  void builderProducesTheSameBytesAsTheRecordSigner() throws Exception {
    Receipt g = ReceiptVectors.golden();
    ReceiptBuilder b =
        new ReceiptBuilder(g.keySetId(), g.sendId(), g.kind(), g.policySha256(), g.payloadSha256());
    g.deliveries().forEach(b::add);
    g.skipped().forEach(b::add);
    assertThat(b.entries()).isEqualTo(3);
    KeySet ks = KeySetVectors.keySet();
    assertThat(b.sign(g.issuedAt(), ks)).isEqualTo(ReceiptVectors.goldenCose());
    ReceiptBuilder empty =
        new ReceiptBuilder(g.keySetId(), "s", Receipt.Kind.FORWARD, new byte[32], new byte[32]);
    assertThat(
            ReceiptVerifier.verify(
                    empty.sign(Instant.EPOCH, ks), ks.bundle(KeySetVectors.KMS_KEY_ID))
                .deliveries())
        .isEmpty();
    assertThatThrownBy(() -> empty.sign(Instant.EPOCH, KeySet.generate(new SecureRandom())))
        .isInstanceOf(IllegalArgumentException.class);
  }

  /**
   * Signing with a key set passes its stored public key to Ed25519 (one base-point multiplication
   * fewer); the bytes must not differ from signing with the private key alone.
   */
  @Test
  void keySetSigningIsByteIdenticalToPrivateKeySigning() throws Exception {
    SecureRandom random = new SecureRandom();
    Receipt g = ReceiptVectors.golden();
    for (int i = 0; i < 50; i++) {
      KeySet ks = KeySet.generate(random);
      byte[] sk = ks.signingPrivateKey();
      byte[] policy = new byte[32];
      random.nextBytes(policy);
      Receipt r =
          Receipt.of(
              ks.id(),
              "send-" + i,
              Receipt.Kind.SEND,
              Instant.ofEpochMilli(i * 1000L),
              policy,
              new byte[32],
              g.deliveries().subList(0, i % (g.deliveries().size() + 1)),
              g.skipped());
      byte[] viaKeySet = ReceiptSigner.sign(r, ks);
      assertThat(viaKeySet).isEqualTo(ReceiptSigner.sign(r, sk));
      assertThat(ReceiptVerifier.verify(viaKeySet, ks.signingPublicKey())).isEqualTo(r);
      ReceiptBuilder b = new ReceiptBuilder(ks.id(), r.sendId(), r.kind(), policy, new byte[32]);
      r.deliveries().forEach(b::add);
      r.skipped().forEach(b::add);
      assertThat(b.sign(r.issuedAt(), ks)).isEqualTo(viaKeySet).isEqualTo(b.sign(r.issuedAt(), sk));
    }
  }
}
