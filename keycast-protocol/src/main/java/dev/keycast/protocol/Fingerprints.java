package dev.keycast.protocol;

import java.security.PublicKey;
import java.util.HexFormat;

/**
 * The one key fingerprint used everywhere in Keycast: SHA-256 of the SubjectPublicKeyInfo DER,
 * lowercase hex (64 characters).
 */
public final class Fingerprints {
  private static final TokenSyntax FORMAT = TokenSyntax.of("0-9a-f", 64, 64);

  private Fingerprints() {}

  /** Fingerprint of a DER-encoded SubjectPublicKeyInfo. */
  public static String ofSpki(byte[] spkiDer) {
    return HexFormat.of().formatHex(sha256(spkiDer));
  }

  /** Fingerprint of a public key (its {@link PublicKey#getEncoded()} is SPKI DER for RSA and XDH). */
  public static String of(PublicKey key) {
    return ofSpki(key.getEncoded());
  }

  /** True when {@code s} has the fingerprint syntax (64 lowercase hex characters). */
  public static boolean isWellFormed(String s) {
    return FORMAT.matches(s);
  }

  static byte[] sha256(byte[] data) {
    return dev.keycast.protocol.crypto.Sha256.digest(data);
  }
}
