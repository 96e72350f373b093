package dev.keycast.host.server;

import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.api.ErrorCode;
import dev.keycast.protocol.api.RecipientProof;
import dev.keycast.protocol.envelope.RecipientKey;
import dev.keycast.protocol.envelope.RsaRecipientKey;
import dev.keycast.protocol.envelope.X25519RecipientKey;
import dev.keycast.protocol.hpke.Hpke;
import dev.keycast.protocol.hpke.HpkeCiphertext;
import dev.keycast.protocol.hpke.HpkeSuite;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.MessageDigest;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.spec.X509EncodedKeySpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Objects;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The host's stateless recipient authentication (api.md section 2.2): challenge tokens, proofs of
 * possession and session tokens, all MAC'd (HMAC-SHA256) with one host secret.
 *
 * <p>A token is base64url of {@code 0x01 || purpose (1 byte: 1 challenge, 2 session) ||
 * u64(expiry, Unix seconds) || fingerprint (32 bytes) || nonce (16 bytes) || HMAC-SHA256(secret,
 * everything before)}: 90 bytes, 120 characters. The X25519 response value of a challenge is
 * {@code HMAC-SHA256(secret, "keycast/v1/recipient-response" || 0x00 || ASCII(token))}.
 *
 * <p>The secret is made at random per process: tokens of one host process are not accepted by
 * another (several hosts behind a load balancer need sticky sessions) nor after a restart.
 */
public final class RecipientAuth {
  /** How long a challenge token may be answered. */
  public static final Duration CHALLENGE_LIFETIME = Duration.ofMinutes(5);

  /** How long a session token is accepted. */
  public static final Duration SESSION_LIFETIME = Duration.ofMinutes(15);

  private static final byte VERSION = 1;
  private static final byte CHALLENGE = 1;
  private static final byte SESSION = 2;
  private static final int BODY = 1 + 1 + 8 + 32 + 16;
  private static final int TOKEN_BYTES = BODY + 32;
  private static final byte[] RESPONSE_LABEL =
      "keycast/v1/recipient-response\0".getBytes(StandardCharsets.US_ASCII);

  private final SecretKeySpec secret;
  private final Clock clock;
  private final SecureRandom random;

  /** Authentication with a fresh random secret. */
  public static RecipientAuth withRandomSecret(Clock clock) {
    SecureRandom r = new SecureRandom();
    byte[] s = new byte[32];
    r.nextBytes(s);
    return new RecipientAuth(s, clock, r);
  }

  /** Authentication with a given 32-byte secret (copied). */
  public RecipientAuth(byte[] secret, Clock clock, SecureRandom random) {
    if (secret.length != 32) {
      throw new IllegalArgumentException("the recipient-auth secret is 32 bytes");
    }
    this.secret = new SecretKeySpec(secret.clone(), "HmacSHA256");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.random = Objects.requireNonNull(random, "random");
  }

  /** A fresh challenge for {@code key}; for X25519 keys with the sealed response value. */
  public RecipientProof.Challenge challenge(RecipientKey key) throws ApiException {
    Instant expires = clock.instant().plus(CHALLENGE_LIFETIME);
    String token = issue(CHALLENGE, key.fingerprint(), expires);
    if (key instanceof X25519RecipientKey x) {
      byte[] value = responseValue(token);
      try {
        HpkeCiphertext sealed =
            Hpke.seal(
                HpkeSuite.KEYCAST_V1,
                x.publicKey(),
                RecipientProof.SEALED_RESPONSE_INFO,
                token.getBytes(StandardCharsets.US_ASCII),
                value,
                random);
        return new RecipientProof.Challenge(
            token,
            key.fingerprint(),
            expires,
            Base64Url.encode(sealed.enc()),
            Base64Url.encode(sealed.ciphertext()));
      } catch (MalformedInputException e) {
        throw new ApiException(ErrorCode.INVALID_RECIPIENT, "recipient 0: " + e.getMessage());
      } finally {
        Arrays.fill(value, (byte) 0);
      }
    }
    return new RecipientProof.Challenge(token, key.fingerprint(), expires, null, null);
  }

  /**
   * Checks a proof of possession of {@code key}: {@code token} must be a live challenge token of
   * this host for the key's fingerprint and {@code proof} its answer by the key.
   *
   * @throws ApiException {@code proof_required} when either is missing, {@code proof_invalid}
   *     otherwise
   */
  public void checkProof(RecipientKey key, String token, String proof) throws ApiException {
    if (token == null || token.isEmpty() || proof == null || proof.isEmpty()) {
      throw new ApiException(
          ErrorCode.PROOF_REQUIRED,
          "token and proof are required: request a"
              + " challenge (POST /v1/recipients/challenge) and prove possession of the key");
    }
    byte[] body = verify(token, CHALLENGE);
    if (body == null) {
      throw new ApiException(
          ErrorCode.PROOF_INVALID, "the challenge token is not one of this host's");
    }
    if (!MessageDigest.isEqual(fingerprintOf(body), HexFormat.of().parseHex(key.fingerprint()))) {
      throw new ApiException(ErrorCode.PROOF_INVALID, "the challenge token is for another key");
    }
    if (!clock.instant().isBefore(expiryOf(body))) {
      throw new ApiException(ErrorCode.PROOF_INVALID, "the challenge expired: request a new one");
    }
    byte[] answer;
    try {
      answer = Base64Url.decode("proof", proof, RecipientProof.MAX_PROOF_BYTES);
    } catch (MalformedInputException e) {
      throw new ApiException(
          ErrorCode.PROOF_INVALID,
          "proof is not base64url of at most " + RecipientProof.MAX_PROOF_BYTES + " bytes");
    }
    boolean ok =
        switch (key) {
          case RsaRecipientKey rsa ->
              RecipientProof.verifyRsa(publicKey(rsa), token, key.fingerprint(), answer);
          case X25519RecipientKey x -> {
            byte[] expected = responseValue(token);
            boolean same = MessageDigest.isEqual(expected, answer);
            Arrays.fill(expected, (byte) 0);
            yield same;
          }
        };
    if (!ok) {
      throw new ApiException(
          ErrorCode.PROOF_INVALID, "the proof does not answer the challenge" + " with this key");
    }
  }

  /** A session token for {@code fingerprint}. */
  public RecipientProof.Session session(String fingerprint) {
    Instant expires = clock.instant().plus(SESSION_LIFETIME);
    return new RecipientProof.Session(issue(SESSION, fingerprint, expires), fingerprint, expires);
  }

  /**
   * Checks that {@code authorization} ({@code Bearer <session token>}) holds a live session token
   * for {@code fingerprint}.
   *
   * @throws ApiException {@code session_required}, {@code session_invalid}, {@code
   *     session_expired} or {@code forbidden} (a token of another recipient)
   */
  public void checkSession(String authorization, String fingerprint) throws ApiException {
    String fp = sessionFingerprint(authorization);
    if (!MessageDigest.isEqual(
        fp.getBytes(StandardCharsets.US_ASCII), fingerprint.getBytes(StandardCharsets.US_ASCII))) {
      throw new ApiException(ErrorCode.FORBIDDEN, "the session token is for another recipient");
    }
  }

  /** The fingerprint of a live session token in {@code authorization}. */
  public String sessionFingerprint(String authorization) throws ApiException {
    if (authorization == null || authorization.isEmpty()) {
      throw new ApiException(
          ErrorCode.SESSION_REQUIRED,
          "send Authorization: Bearer <session token>"
              + " (POST /v1/recipients/{fingerprint}/sessions)");
    }
    if (!authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
      throw new ApiException(
          ErrorCode.SESSION_INVALID, "Authorization must be Bearer <session token>");
    }
    byte[] body = verify(authorization.substring(7).strip(), SESSION);
    if (body == null) {
      throw new ApiException(
          ErrorCode.SESSION_INVALID, "the session token is not one of this host's");
    }
    if (!clock.instant().isBefore(expiryOf(body))) {
      throw new ApiException(
          ErrorCode.SESSION_EXPIRED, "the session token expired: start a new session");
    }
    return HexFormat.of().formatHex(fingerprintOf(body));
  }

  // ---------------------------------------------------------------- tokens

  private String issue(byte purpose, String fingerprint, Instant expires) {
    byte[] nonce = new byte[16];
    random.nextBytes(nonce);
    ByteBuffer b = ByteBuffer.allocate(TOKEN_BYTES);
    b.put(VERSION)
        .put(purpose)
        .putLong(expires.getEpochSecond())
        .put(HexFormat.of().parseHex(fingerprint))
        .put(nonce);
    b.put(mac(Arrays.copyOf(b.array(), BODY)));
    return Base64Url.encode(b.array());
  }

  /** The token's bytes if it is a well-formed token of {@code purpose} MAC'd by this host; else null. */
  private byte[] verify(String token, byte purpose) {
    if (token.length() > RecipientProof.MAX_TOKEN_CHARS) {
      return null;
    }
    byte[] t;
    try {
      t = Base64Url.decode("token", token, TOKEN_BYTES);
    } catch (MalformedInputException e) {
      return null;
    }
    if (t.length != TOKEN_BYTES) {
      return null;
    }
    byte[] body = Arrays.copyOf(t, BODY);
    boolean macOk = MessageDigest.isEqual(mac(body), Arrays.copyOfRange(t, BODY, TOKEN_BYTES));
    if (!macOk || t[0] != VERSION || t[1] != purpose) {
      return null;
    }
    return body;
  }

  private static Instant expiryOf(byte[] body) {
    return Instant.ofEpochSecond(ByteBuffer.wrap(body, 2, 8).getLong());
  }

  private static byte[] fingerprintOf(byte[] body) {
    return Arrays.copyOfRange(body, 10, 42);
  }

  private byte[] responseValue(String token) {
    Mac m = hmac();
    m.update(RESPONSE_LABEL);
    return m.doFinal(token.getBytes(StandardCharsets.US_ASCII));
  }

  private byte[] mac(byte[] data) {
    return hmac().doFinal(data);
  }

  private Mac hmac() {
    try {
      Mac m = Mac.getInstance("HmacSHA256");
      m.init(secret);
      return m;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  private static PublicKey publicKey(RsaRecipientKey rsa) throws ApiException {
    try {
      return KeyFactory.getInstance("RSA").generatePublic(new X509EncodedKeySpec(rsa.spkiDer()));
    } catch (GeneralSecurityException e) {
      throw new ApiException(ErrorCode.INVALID_RECIPIENT, "recipient 0: RSA key does not decode");
    }
  }
}
