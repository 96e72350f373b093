package dev.keycast.protocol.policy;

import dev.keycast.protocol.Fingerprints;
import dev.keycast.protocol.Json;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.SecretIds;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * The sender's rules for one secret (wire format section 7). The sender's exact policy bytes are the
 * HPKE associated data of the send, so the host can read them but cannot change them; the enclave
 * decides eligibility only from this record and the recipients' own keys and certificates.
 *
 * @param version policy format version, 1
 * @param secretId the sender's name for the secret, 1..128 characters {@code [A-Za-z0-9._:-]}
 * @param sender the sender's label, at most 256 characters; shown to recipients
 * @param notBefore start of the validity window; deliveries are made only inside it
 * @param notAfter end of the validity window
 * @param recipients who may receive the secret
 * @param lateRecipients whether recipients that register after the send may receive it later
 * @param maxRecipients the most deliveries this secret may ever have (1..{@link #MAX_RECIPIENTS})
 * @param rsaContent content cipher of CMS deliveries: {@code aes-256-gcm} (default) or {@code aes-256-cbc}
 */
public record SendPolicy(
    int version,
    String secretId,
    String sender,
    Instant notBefore,
    Instant notAfter,
    RecipientSelector recipients,
    boolean lateRecipients,
    int maxRecipients,
    String rsaContent) {

  public static final int VERSION = 1;
  /** Largest policy document accepted, in bytes (room for about 120,000 listed fingerprints). */
  public static final int MAX_BYTES = 8 * 1024 * 1024;
  /** Hard upper bound of {@link #maxRecipients()}. */
  public static final int MAX_RECIPIENTS = 1_000_000;
  public static final String CONTENT_AES_256_GCM = "aes-256-gcm";
  public static final String CONTENT_AES_256_CBC = "aes-256-cbc";


  public SendPolicy {
    if (version != VERSION) {
      throw new IllegalArgumentException("unsupported policy version " + version + "; expected " + VERSION);
    }
    if (!SecretIds.isWellFormed(secretId)) {
      throw new IllegalArgumentException(
          "secret_id must be " + SecretIds.RULE + ", got " + quote(secretId));
    }
    if (sender == null) {
      sender = "";
    }
    if (sender.length() > 256) {
      throw new IllegalArgumentException("sender label is longer than 256 characters");
    }
    if (notBefore == null || notAfter == null) {
      throw new IllegalArgumentException("not_before and not_after are required");
    }
    if (notAfter.isBefore(notBefore)) {
      throw new IllegalArgumentException(
          "not_after " + notAfter + " is before not_before " + notBefore);
    }
    if (recipients == null) {
      throw new IllegalArgumentException("recipients is required");
    }
    if (maxRecipients < 1 || maxRecipients > MAX_RECIPIENTS) {
      throw new IllegalArgumentException(
          "max_recipients must be 1.." + MAX_RECIPIENTS + ", got " + maxRecipients);
    }
    if (rsaContent == null) {
      rsaContent = CONTENT_AES_256_GCM;
    }
    if (!rsaContent.equals(CONTENT_AES_256_GCM) && !rsaContent.equals(CONTENT_AES_256_CBC)) {
      throw new IllegalArgumentException(
          "rsa_content must be aes-256-gcm or aes-256-cbc, got " + quote(rsaContent));
    }
  }

  /**
   * Who may receive the secret: recipients whose key fingerprint is listed, and recipients whose
   * certificate chain leads to one of the anchors and whose leaf subject matches every attribute of
   * {@code subject}. At least one of the two must be given.
   *
   * @param fingerprints explicit recipient key fingerprints (lowercase hex SHA-256 of SPKI DER)
   * @param anchors trust-anchor certificates, base64 (standard or url) DER
   * @param subject required leaf subject attributes (keys such as CN, O, OU, C, L, ST, SERIALNUMBER); exact match
   */
  public record RecipientSelector(
      List<String> fingerprints, List<String> anchors, Map<String, String> subject) {
    public static final int MAX_FINGERPRINTS = MAX_RECIPIENTS;
    public static final int MAX_ANCHORS = 16;

    public RecipientSelector {
      fingerprints = fingerprints == null ? List.of() : List.copyOf(fingerprints);
      anchors = anchors == null ? List.of() : List.copyOf(anchors);
      subject = subject == null ? Map.of() : Map.copyOf(subject);
      if (fingerprints.isEmpty() && anchors.isEmpty()) {
        throw new IllegalArgumentException("recipients needs fingerprints or anchors");
      }
      if (fingerprints.size() > MAX_FINGERPRINTS) {
        throw new IllegalArgumentException("more than " + MAX_FINGERPRINTS + " fingerprints");
      }
      if (anchors.size() > MAX_ANCHORS) {
        throw new IllegalArgumentException("more than " + MAX_ANCHORS + " anchors");
      }
      for (String fp : fingerprints) {
        if (!Fingerprints.isWellFormed(fp)) {
          throw new IllegalArgumentException(
              "fingerprint " + quote(fp) + " is not 64 lowercase hex characters");
        }
      }
      if (!subject.isEmpty() && anchors.isEmpty()) {
        throw new IllegalArgumentException("a subject selector needs at least one anchor");
      }
    }
  }

  /** Parses and validates policy bytes exactly as they travel as HPKE associated data. */
  public static SendPolicy parse(byte[] policyBytes) throws MalformedInputException {
    try {
      return Json.decode(policyBytes, MAX_BYTES, SendPolicy.class);
    } catch (MalformedInputException e) {
      if (e.getMessage() != null && e.getMessage().contains("unsupported policy version")) {
        throw new MalformedInputException(MalformedInputException.Kind.UNSUPPORTED_VERSION, e.getMessage());
      }
      throw new MalformedInputException(
          e.kind() == MalformedInputException.Kind.OVERSIZE ? MalformedInputException.Kind.OVERSIZE : MalformedInputException.Kind.INVALID_POLICY, "policy: " + e.getMessage());
    }
  }

  /** The policy as JSON bytes (for senders building a send). */
  public byte[] toJson() {
    return Json.encode(this);
  }

  /** True when {@code now} lies inside the validity window (inclusive). */
  public boolean isValidAt(Instant now) {
    return !now.isBefore(notBefore) && !now.isAfter(notAfter);
  }

  private static String quote(String s) {
    return MalformedInputException.quote(s, 40);
  }
}
