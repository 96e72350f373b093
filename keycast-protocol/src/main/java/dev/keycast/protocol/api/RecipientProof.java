package dev.keycast.protocol.api;

import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.DecryptionFailedException;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.hpke.Hpke;
import dev.keycast.protocol.hpke.HpkeCiphertext;
import dev.keycast.protocol.hpke.HpkeSuite;
import dev.keycast.protocol.hpke.X25519PrivateKey;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.MGF1ParameterSpec;
import java.security.spec.PSSParameterSpec;
import java.util.Arrays;

/**
 * Proof of possession of a recipient key (api.md section 2.2), shared by the host that checks it
 * and the clients that make it.
 *
 * <ul>
 *   <li>RSA: an RSASSA-PSS signature (SHA-256, MGF1 with SHA-256, 32-byte salt, trailer 1; RFC
 *       8017) over {@link #signatureInput}.</li>
 *   <li>X25519: the 32-byte response value the host sealed to the key with HPKE (RFC 9180, suite
 *       {@link HpkeSuite#KEYCAST_V1}, base mode, {@code info} = {@link #SEALED_RESPONSE_INFO},
 *       {@code aad} = the challenge token's ASCII bytes), opened and sent back.</li>
 * </ul>
 */
public final class RecipientProof {
  /** Domain-separation label of the signature input. */
  public static final String SIGNATURE_LABEL = "keycast/v1/recipient-proof";

  /** HPKE {@code info} of the sealed response value. */
  public static final byte[] SEALED_RESPONSE_INFO =
      "keycast/v1/recipient-challenge".getBytes(StandardCharsets.US_ASCII);

  /** Length of the X25519 response value. */
  public static final int RESPONSE_LENGTH = 32;

  /** Largest proof accepted (a 4096-bit RSA signature is 512 bytes). */
  public static final int MAX_PROOF_BYTES = 512;

  /** Longest challenge or session token accepted. */
  public static final int MAX_TOKEN_CHARS = 256;

  private RecipientProof() {}

  /** POST /v1/recipients/challenge: the key (as for registration) whose possession will be proved. */
  public record ChallengeRequest(String key) {}

  /**
   * Answer to POST /v1/recipients/challenge. {@code enc} and {@code sealedResponse} (base64url)
   * are present for X25519 keys only.
   */
  public record Challenge(
      String token,
      String fingerprint,
      java.time.Instant expiresAt,
      String enc,
      String sealedResponse) {}

  /** POST /v1/recipients/{fingerprint}/sessions. */
  public record SessionRequest(String token, String proof) {}

  /** Answer to POST /v1/recipients/{fingerprint}/sessions. */
  public record Session(String sessionToken, String fingerprint, java.time.Instant expiresAt) {}

  /**
   * The bytes an RSA key signs: {@code UTF8("keycast/v1/recipient-proof") || 0x00 ||
   * u32(len(token)) || ASCII(token) || u32(64) || ASCII(fingerprint)}, {@code u32} big-endian.
   */
  public static byte[] signatureInput(String token, String fingerprint) {
    byte[] label = SIGNATURE_LABEL.getBytes(StandardCharsets.US_ASCII);
    byte[] t = token.getBytes(StandardCharsets.US_ASCII);
    byte[] f = fingerprint.getBytes(StandardCharsets.US_ASCII);
    return ByteBuffer.allocate(label.length + 1 + 4 + t.length + 4 + f.length)
        .put(label)
        .put((byte) 0)
        .putInt(t.length)
        .put(t)
        .putInt(f.length)
        .put(f)
        .array();
  }

  private static Signature pss() throws GeneralSecurityException {
    Signature s = Signature.getInstance("RSASSA-PSS");
    s.setParameter(new PSSParameterSpec("SHA-256", "MGF1", MGF1ParameterSpec.SHA256, 32, 1));
    return s;
  }

  /** The RSA proof: base64url of the PSS signature of {@link #signatureInput}. */
  public static String signRsa(PrivateKey key, String token, String fingerprint) {
    try {
      Signature s = pss();
      s.initSign(key);
      s.update(signatureInput(token, fingerprint));
      return Base64Url.encode(s.sign());
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(
          "RSASSA-PSS signing failed: " + e.getClass().getSimpleName(), e);
    }
  }

  /** Whether {@code signature} is a valid RSA proof by {@code key}; never throws on bad input. */
  public static boolean verifyRsa(
      PublicKey key, String token, String fingerprint, byte[] signature) {
    try {
      Signature s = pss();
      s.initVerify(key);
      s.update(signatureInput(token, fingerprint));
      return s.verify(signature);
    } catch (GeneralSecurityException | RuntimeException e) {
      return false;
    }
  }

  /**
   * The X25519 proof: opens the challenge's sealed response value and returns it base64url.
   *
   * @throws DecryptionFailedException if this key cannot open it (not the key challenged)
   */
  public static String openX25519(X25519PrivateKey key, Challenge challenge)
      throws DecryptionFailedException, MalformedInputException {
    if (challenge.enc() == null || challenge.sealedResponse() == null) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED, "the challenge has no sealed response");
    }
    HpkeCiphertext sealed =
        new HpkeCiphertext(
            Base64Url.decode("enc", challenge.enc(), 64),
            Base64Url.decode("sealed_response", challenge.sealedResponse(), 256));
    byte[] value =
        Hpke.open(
            HpkeSuite.KEYCAST_V1,
            key,
            SEALED_RESPONSE_INFO,
            challenge.token().getBytes(StandardCharsets.US_ASCII),
            sealed);
    try {
      return Base64Url.encode(value);
    } finally {
      Arrays.fill(value, (byte) 0);
    }
  }
}
