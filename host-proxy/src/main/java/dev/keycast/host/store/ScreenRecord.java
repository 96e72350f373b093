package dev.keycast.host.store;

import dev.keycast.protocol.Fingerprints;
import dev.keycast.protocol.policy.SendPolicy;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Objects;

/**
 * A registered screen (wire-format.md section 9.3): the ST 430-2 chain of its Security Manager and
 * what the host keeps of it for people and for KDM formulation. A screen is not a recipient: no
 * CMS or HPKE delivery is ever made to it; it is a candidate of KDM sends only. Its deliveries are
 * stored under its {@link #fingerprint} as every delivery is.
 *
 * @param thumbprint base64 (standard, padded, 28 characters) SHA-1 of the leaf's DER
 *     TBSCertificate: the screen's key in the store
 * @param fingerprint SHA-256 of the leaf's SubjectPublicKeyInfo DER, 64 lowercase hex (the
 *     recipient fingerprint its KDM deliveries carry)
 * @param cinema the cinema's name, or null for a screen of no cinema
 * @param screenName the screen's name, or null
 * @param chain the DER certificates, leaf first (2 to {@value #MAX_CHAIN} of at most
 *     {@value #MAX_CERTIFICATE} bytes each)
 * @param trustedDevices base64 SHA-1 thumbprints (at most {@value #MAX_TRUSTED_DEVICES})
 * @param registeredAt registration time (millisecond precision)
 */
public record ScreenRecord(
    String thumbprint,
    String fingerprint,
    String cinema,
    String screenName,
    List<byte[]> chain,
    List<String> trustedDevices,
    Instant registeredAt) {
  /** Most certificates in a chain. */
  public static final int MAX_CHAIN = 8;

  /** Largest DER certificate. */
  public static final int MAX_CERTIFICATE = 16 * 1024;

  /** Most trusted-device thumbprints. */
  public static final int MAX_TRUSTED_DEVICES = 64;

  public ScreenRecord {
    if (!SendPolicy.isWellFormedThumbprint(thumbprint)) {
      throw new IllegalArgumentException(
          "thumbprint must be base64 of 20 bytes: " + Checks.quote(String.valueOf(thumbprint)));
    }
    if (!Fingerprints.isWellFormed(fingerprint)) {
      throw new IllegalArgumentException("fingerprint must be 64 lowercase hex");
    }
    if (cinema != null) {
      CinemaRecord.checkName("cinema name", cinema);
    }
    if (screenName != null) {
      CinemaRecord.checkName("screen name", screenName);
    }
    Objects.requireNonNull(chain, "chain");
    if (chain.size() < 2 || chain.size() > MAX_CHAIN) {
      throw new IllegalArgumentException("a screen chain has 2 to " + MAX_CHAIN + " certificates");
    }
    List<byte[]> copy = new ArrayList<>(chain.size());
    for (byte[] c : chain) {
      copy.add(Checks.bytes("certificate", c, MAX_CERTIFICATE));
    }
    chain = List.copyOf(copy);
    trustedDevices = List.copyOf(Objects.requireNonNull(trustedDevices, "trustedDevices"));
    if (trustedDevices.size() > MAX_TRUSTED_DEVICES) {
      throw new IllegalArgumentException("at most " + MAX_TRUSTED_DEVICES + " trusted devices");
    }
    for (String t : trustedDevices) {
      if (!SendPolicy.isWellFormedThumbprint(t)) {
        throw new IllegalArgumentException(
            "trusted device thumbprint must be base64 of 20 bytes: "
                + Checks.quote(String.valueOf(t)));
      }
    }
    registeredAt = Checks.millis(Objects.requireNonNull(registeredAt, "registeredAt"));
  }

  /** The DER certificates, leaf first (copies). */
  @Override
  public List<byte[]> chain() {
    return chain.stream().map(byte[]::clone).toList();
  }

  /** The thumbprint in base64url without padding (27 characters): URL paths and S3 keys. */
  public String thumbprintUrl() {
    return toUrl(thumbprint);
  }

  /** A standard-base64 thumbprint in base64url without padding. */
  public static String toUrl(String thumbprint) {
    return Base64.getUrlEncoder()
        .withoutPadding()
        .encodeToString(Base64.getDecoder().decode(thumbprint));
  }

  /** The standard-base64 thumbprint of a base64url one (27 characters); null when it is not one. */
  public static String fromUrl(String url) {
    if (url == null || url.length() != 27 || !url.matches("[A-Za-z0-9_-]{27}")) {
      return null;
    }
    String t;
    try {
      t = Base64.getEncoder().encodeToString(Base64.getUrlDecoder().decode(url));
    } catch (IllegalArgumentException e) {
      return null;
    }
    return SendPolicy.isWellFormedThumbprint(t) && toUrl(t).equals(url) ? t : null;
  }

  /** The chain as one blob: {@code (u32 length || DER)*}, big-endian. */
  static byte[] encodeChain(List<byte[]> chain) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (byte[] c : chain) {
      out.writeBytes(ByteBuffer.allocate(4).putInt(c.length).array());
      out.writeBytes(c);
    }
    return out.toByteArray();
  }

  /** {@link #encodeChain}'s blob back; {@link IllegalArgumentException} when malformed. */
  static List<byte[]> decodeChain(byte[] blob) {
    if (blob.length > MAX_CHAIN * (MAX_CERTIFICATE + 4)) {
      throw new IllegalArgumentException("chain blob too large");
    }
    ByteBuffer b = ByteBuffer.wrap(blob);
    List<byte[]> out = new ArrayList<>();
    while (b.hasRemaining()) {
      if (b.remaining() < 4 || out.size() >= MAX_CHAIN) {
        throw new IllegalArgumentException("malformed chain blob");
      }
      int n = b.getInt();
      if (n < 0 || n > MAX_CERTIFICATE || n > b.remaining()) {
        throw new IllegalArgumentException("malformed chain blob");
      }
      byte[] c = new byte[n];
      b.get(c);
      out.add(c);
    }
    return out;
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof ScreenRecord s) || s.chain.size() != chain.size()) {
      return false;
    }
    for (int i = 0; i < chain.size(); i++) {
      if (!Arrays.equals(s.chain.get(i), chain.get(i))) {
        return false;
      }
    }
    return s.thumbprint.equals(thumbprint)
        && s.fingerprint.equals(fingerprint)
        && Objects.equals(s.cinema, cinema)
        && Objects.equals(s.screenName, screenName)
        && s.trustedDevices.equals(trustedDevices)
        && s.registeredAt.equals(registeredAt);
  }

  @Override
  public int hashCode() {
    return Objects.hash(thumbprint, fingerprint, cinema, screenName, trustedDevices, registeredAt);
  }

  @Override
  public String toString() {
    return "ScreenRecord["
        + thumbprint
        + ", "
        + fingerprint
        + ", cinema="
        + cinema
        + ", screen="
        + screenName
        + ", "
        + chain.size()
        + " certificates, registeredAt="
        + registeredAt
        + "]";
  }
}
