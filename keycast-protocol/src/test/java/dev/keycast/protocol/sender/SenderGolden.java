package dev.keycast.protocol.sender;

import dev.keycast.protocol.keyset.KeySet;
import dev.keycast.protocol.keyset.KeySetVectors;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;

/** The fixed inputs of the sender-identity golden vectors (wire-format.md section 8.5). */
final class SenderGolden {
  static final HexFormat HEX = HexFormat.of();

  /** Owner seed: 32 bytes of 0x01; sender seed: 32 bytes of 0x02 (RFC 8032 seeds, TEST ONLY). */
  static final SenderSigningKey OWNER = SenderSigningKey.fromSeed(filled(0x01));

  static final SenderSigningKey SENDER = SenderSigningKey.fromSeed(filled(0x02));
  static final KeySet KEY_SET = KeySetVectors.keySet();
  static final SenderSet SET =
      new SenderSet(1, List.of(OWNER.publicKey()), List.of(SENDER.publicKey()));

  /** The send statement: SHA-256 of "policy", of "payload", send id 00..0f, 2026-12-07T00:00:00Z. */
  static final SendStatement STATEMENT =
      new SendStatement(
          KEY_SET.id(),
          SenderSet.sha256("policy".getBytes()),
          SenderSet.sha256("payload".getBytes()),
          "000102030405060708090a0b0c0d0e0f",
          Instant.parse("2026-12-07T00:00:00Z"),
          SENDER.publicKey());

  private SenderGolden() {}

  static byte[] filled(int b) {
    byte[] out = new byte[32];
    java.util.Arrays.fill(out, (byte) b);
    return out;
  }

  public static void main(String[] args) {
    System.out.println("key-set-id " + KEY_SET.id());
    System.out.println("owner-public " + HEX.formatHex(OWNER.publicKey().raw()));
    System.out.println("sender-public " + HEX.formatHex(SENDER.publicKey().raw()));
    System.out.println("sender-fingerprint " + SENDER.publicKey().fingerprint());
    System.out.println("sender-set " + HEX.formatHex(SET.encode()));
    System.out.println("sender-set-sha256 " + HEX.formatHex(SET.digest()));
    SenderSet v2 = SET.withSender(OWNER.publicKey());
    System.out.println(
        "update-input " + HEX.formatHex(SenderSetUpdate.signingInput(KEY_SET.id(), v2)));
    System.out.println(
        "update-signature "
            + HEX.formatHex(SenderSetUpdate.sign(KEY_SET.id(), v2, OWNER).signature()));
    System.out.println("send-input " + HEX.formatHex(STATEMENT.signingInput()));
    System.out.println("send-signature " + HEX.formatHex(STATEMENT.sign(SENDER)));
    System.out.println("sealed-sender-set " + HEX.formatHex(SealedSenderSet.seal(KEY_SET, SET)));
  }
}
