package dev.keycast.host.store;

import dev.keycast.protocol.Fingerprints;
import dev.keycast.protocol.TokenSyntax;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Objects;

/** Argument checks shared by the store's value types. */
final class Checks {
  /** Syntax of send, delivery and receipt ids: they become S3 key segments and SQL keys. */
  static final TokenSyntax ID = TokenSyntax.of("A-Za-z0-9_-", 1, 128);

  static final TokenSyntax FORMAT_ID = TokenSyntax.of("a-z0-9._-", 1, 64);

  static final int MAX_ENVELOPE = 1 << 20;

  /** As {@code SendPolicy.MAX_BYTES}: the store keeps every policy a sender may send. */
  static final int MAX_POLICY = dev.keycast.protocol.policy.SendPolicy.MAX_BYTES;

  static final int MAX_SEALED_SECRET = 1 << 16;
  static final int MAX_RECEIPT = 64 << 20;
  static final int MAX_KEY_SET = 1 << 20;
  static final int MAX_PUBLIC_KEY = 1 << 16;
  static final int MAX_LABELS = 64;
  static final int MAX_LABEL_CHARS = 1024;

  private Checks() {}

  static String id(String what, String value) {
    Objects.requireNonNull(value, what);
    if (!ID.matches(value)) {
      throw new IllegalArgumentException(
          what + " must match " + ID.pattern() + ": " + quote(value));
    }
    return value;
  }

  static String fingerprint(String value) {
    Objects.requireNonNull(value, "fingerprint");
    if (!Fingerprints.isWellFormed(value)) {
      throw new IllegalArgumentException("fingerprint must be 64 lowercase hex: " + quote(value));
    }
    return value;
  }

  /**
   * Refuses a delivery whose id is not {@link dev.keycast.protocol.DeliveryIds#of}{@code (sendId,
   * fingerprint)} (api.md 1.1 step 7). The stores rely on it: the delivery id alone is then unique
   * per (send, recipient), and a (send, recipient) lookup goes by the computed id.
   *
   * @throws IllegalArgumentException naming the delivery when its id is not the derivation
   */
  static Delivery derivedDeliveryId(String sendId, Delivery d) {
    if (!dev.keycast.protocol.DeliveryIds.matches(
        d.deliveryId(), sendId, d.recipientFingerprint())) {
      throw new IllegalArgumentException(
          "delivery id "
              + quote(d.deliveryId())
              + " is not the delivery id of send "
              + quote(sendId)
              + " for recipient "
              + d.recipientFingerprint());
    }
    return d;
  }

  static byte[] bytes(String what, byte[] value, int max) {
    Objects.requireNonNull(value, what);
    if (value.length > max) {
      throw new IllegalArgumentException(what + " is " + value.length + " bytes, limit " + max);
    }
    return value.clone();
  }

  /** Instants are stored with millisecond precision; normalise so values round-trip exactly. */
  static Instant millis(Instant t) {
    return t == null ? null : t.truncatedTo(ChronoUnit.MILLIS);
  }

  /** {@code s} quoted for an error message, at most 80 characters ({@link dev.keycast.protocol.MalformedInputException#quote(String, int)}). */
  static String quote(String s) {
    return dev.keycast.protocol.MalformedInputException.quote(s, 80);
  }

  /** A page size: at least 1, at most {@link ArtefactStore#MAX_PAGE}. */
  static int page(int limit) {
    if (limit < 1) {
      throw new IllegalArgumentException("limit must be >= 1: " + limit);
    }
    return Math.min(limit, ArtefactStore.MAX_PAGE);
  }

  /** The distinct values (thumbprints or fingerprints, checked), at most a page of them. */
  static java.util.TreeSet<String> valueSet(
      java.util.Collection<String> values, boolean thumbprints) {
    java.util.TreeSet<String> out = new java.util.TreeSet<>();
    for (String v : values) {
      if (thumbprints
          ? !dev.keycast.protocol.policy.SendPolicy.isWellFormedThumbprint(v)
          : !Fingerprints.isWellFormed(v)) {
        throw new IllegalArgumentException(
            (thumbprints ? "thumbprint" : "fingerprint")
                + " is malformed: "
                + quote(String.valueOf(v)));
      }
      out.add(v);
    }
    if (out.size() > ArtefactStore.MAX_PAGE) {
      throw new IllegalArgumentException(
          "at most " + ArtefactStore.MAX_PAGE + " values per lookup");
    }
    return out;
  }
}
