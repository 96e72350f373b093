package dev.keycast.protocol.receipt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.keyset.FixedRandom;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Version 3 receipts: the builder past its threshold, bundles, and a host that lies about them. */
class ReceiptBundleTest {
  private static final Instant AT = Instant.parse("2026-12-08T01:00:00.250Z");

  private static List<Receipt.Delivery> deliveries(int n) {
    List<Receipt.Delivery> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(
          new Receipt.Delivery(
              ReceiptVectors.fp("bundle/r" + i),
              "cms-aes256gcm-v1",
              "dlv-" + i,
              FixedRandom.bytes("bundle/env" + i, 32)));
    }
    return out;
  }

  private static List<Receipt.Skipped> skipped(int n) {
    List<Receipt.Skipped> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(new Receipt.Skipped(ReceiptVectors.fp("bundle/s" + i), "not_eligible", "m" + i));
    }
    return out;
  }

  private static ReceiptBuilder builder(int rootedAbove) {
    Receipt g = ReceiptVectors.goldenV2();
    return new ReceiptBuilder(
        g.keySetId(),
        g.sendId(),
        g.kind(),
        g.policySha256(),
        g.payloadSha256(),
        g.sender(),
        rootedAbove);
  }

  private static Receipt expected(int version, List<Receipt.Delivery> d, List<Receipt.Skipped> s) {
    Receipt g = ReceiptVectors.goldenV2();
    return new Receipt(
        version,
        g.keySetId(),
        g.sendId(),
        g.kind(),
        AT,
        g.policySha256(),
        g.payloadSha256(),
        d,
        s,
        g.sender());
  }

  @Test
  void aBuilderPastItsThresholdSignsAHeadWhoseBundleVerifiesToTheSameEntries() throws Exception {
    List<Receipt.Delivery> d = deliveries(37);
    List<Receipt.Skipped> s = skipped(5);
    ReceiptBuilder b = builder(10);
    for (int i = 0; i < 37; i++) {
      b.add(d.get(i));
      if (i % 8 == 0) {
        b.add(s.get(i / 8)); // interleaved, as a send adds them
      }
    }
    assertThat(b.rooted()).isTrue();
    byte[] head = b.sign(AT, ReceiptVectors.signingKey());
    assertThat(head.length).isLessThan(400);
    assertThat(ReceiptBundle.isRootedHead(head)).isTrue();
    byte[] bundle = ReceiptBundle.assemble(head, d.size(), d.iterator(), s);
    Receipt r = ReceiptVerifier.verify(bundle, ReceiptVectors.publicKey());
    assertThat(r).isEqualTo(expected(Receipt.VERSION_ROOTED, d, s));
    // the same receipt signed whole gives the same bundle (Ed25519 is deterministic)
    assertThat(
            ReceiptSigner.sign(expected(Receipt.VERSION_ROOTED, d, s), ReceiptVectors.signingKey()))
        .isEqualTo(bundle);
  }

  @Test
  void aBuilderAtItsThresholdStaysVersion2AndByteIdenticalToTheSigner() throws Exception {
    List<Receipt.Delivery> d = deliveries(8);
    List<Receipt.Skipped> s = skipped(2);
    ReceiptBuilder b = builder(10);
    d.forEach(b::add);
    s.forEach(b::add);
    assertThat(b.rooted()).isFalse();
    byte[] cose = b.sign(AT, ReceiptVectors.signingKey());
    assertThat(ReceiptBundle.isRootedHead(cose)).isFalse();
    Receipt want = expected(Receipt.VERSION_WITH_SENDER, d, s);
    assertThat(cose).isEqualTo(ReceiptSigner.sign(want, ReceiptVectors.signingKey()));
    assertThat(ReceiptVerifier.verify(cose, ReceiptVectors.publicKey())).isEqualTo(want);
  }

  @Test
  void hostDroppingADeliveryFromTheBundleIsRefused() {
    List<Receipt.Delivery> d = deliveries(20);
    ReceiptBuilder b = builder(4);
    d.forEach(b::add);
    byte[] head = b.sign(AT, ReceiptVectors.signingKey());
    assertThatThrownBy(
            () -> ReceiptBundle.assemble(head, 20, d.subList(0, 19).iterator(), List.of()))
        .isInstanceOf(IllegalArgumentException.class);
    byte[] lying = ReceiptBundle.assemble(head, 19, d.subList(0, 19).iterator(), List.of());
    assertThatThrownBy(() -> ReceiptVerifier.verify(lying, ReceiptVectors.publicKey()))
        .isInstanceOf(MalformedInputException.class)
        .hasMessageContaining("19 deliveries, the signed receipt 20");
  }

  @Test
  void hostReplacingADeliveryInTheBundleIsRefused() {
    List<Receipt.Delivery> d = deliveries(20);
    ReceiptBuilder b = builder(4);
    d.forEach(b::add);
    byte[] head = b.sign(AT, ReceiptVectors.signingKey());
    List<Receipt.Delivery> forged = new ArrayList<>(d);
    forged.set(
        17,
        new Receipt.Delivery(
            ReceiptVectors.fp("bundle/attacker"),
            "cms-aes256gcm-v1",
            "dlv-17",
            FixedRandom.bytes("bundle/env17", 32)));
    byte[] lying = ReceiptBundle.assemble(head, 20, forged.iterator(), List.of());
    assertThatThrownBy(() -> ReceiptVerifier.verify(lying, ReceiptVectors.publicKey()))
        .isExactlyInstanceOf(ReceiptSignatureException.class)
        .hasMessage(ReceiptSignatureException.MESSAGE);
  }

  @Test
  void hostMovingASkippedEntryAmongTheDeliveriesIsRefused() {
    List<Receipt.Delivery> d = deliveries(6);
    List<Receipt.Skipped> s = skipped(2);
    ReceiptBuilder b = builder(2);
    d.forEach(b::add);
    s.forEach(b::add);
    byte[] head = b.sign(AT, ReceiptVectors.signingKey());
    byte[] lying = ReceiptBundle.assemble(head, 6, d.iterator(), s.subList(0, 1));
    assertThatThrownBy(() -> ReceiptVerifier.verify(lying, ReceiptVectors.publicKey()))
        .isInstanceOf(MalformedInputException.class);
  }

  @Test
  void checkRefusesWhatVerifyRefusesWithoutKeepingTheEntries() throws Exception {
    List<Receipt.Delivery> d = deliveries(20);
    ReceiptBuilder b = builder(4);
    d.forEach(b::add);
    byte[] head = b.sign(AT, ReceiptVectors.signingKey());
    ReceiptBundle.check(
        ReceiptBundle.assemble(head, 20, d.iterator(), List.of()), ReceiptVectors.publicKey());
    List<Receipt.Delivery> swapped = new ArrayList<>(d);
    swapped.set(0, d.get(1));
    swapped.set(1, d.get(0));
    byte[] lying = ReceiptBundle.assemble(head, 20, swapped.iterator(), List.of());
    assertThatThrownBy(() -> ReceiptBundle.check(lying, ReceiptVectors.publicKey()))
        .isExactlyInstanceOf(ReceiptSignatureException.class);
    assertThatThrownBy(() -> ReceiptBundle.check(head, ReceiptVectors.publicKey()))
        .isInstanceOf(MalformedInputException.class);
  }

  @Test
  void aRootedReceiptWhoseBundleWouldExceedTheLimitIsRefusedBeforeSigning() {
    ReceiptBuilder b = builder(2);
    String message = "m".repeat(Receipt.MAX_MESSAGE);
    // about 300 bytes per skipped entry: 230,000 of them pass 64 MiB
    for (int i = 0; i < 230_000; i++) {
      b.add(
          new Receipt.Skipped(ReceiptVectors.fp("bundle/big" + (i % 64)), "not_eligible", message));
    }
    assertThat(b.rooted()).isTrue();
    assertThatThrownBy(() -> b.sign(AT, ReceiptVectors.signingKey()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("limit");
  }

  @Test
  void aVersion2ReceiptIsNotAssembledIntoABundle() {
    byte[] v2 = ReceiptSigner.sign(ReceiptVectors.goldenV2(), ReceiptVectors.signingKey());
    assertThatThrownBy(
            () -> ReceiptBundle.assemble(v2, 0, List.<Receipt.Delivery>of().iterator(), List.of()))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
