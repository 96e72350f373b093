package dev.keycast.protocol.policy;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import dev.keycast.protocol.Fingerprints;
import dev.keycast.protocol.Json;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.SecretIds;
import dev.keycast.protocol.cinema.CinemaException;
import dev.keycast.protocol.cinema.ForensicMarkFlags;
import dev.keycast.protocol.cinema.KdmFormulation;
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
 * @param kdm present for a KDM send (wire-format.md section 9): the secret is a content-key set,
 *     every delivery is an SMPTE ST 430-1 KDM to a screen, and {@code not_before}/{@code
 *     not_after} are the KDMs' key window; absent for every other send
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
    String rsaContent,
    KdmRules kdm) {

  public static final int VERSION = 1;

  /** Largest policy document accepted, in bytes (room for about 120,000 listed fingerprints). */
  public static final int MAX_BYTES = 8 * 1024 * 1024;

  /** Hard upper bound of {@link #maxRecipients()}. */
  public static final int MAX_RECIPIENTS = 1_000_000;

  public static final String CONTENT_AES_256_GCM = "aes-256-gcm";
  public static final String CONTENT_AES_256_CBC = "aes-256-cbc";

  /** A policy without KDM rules (every send but a KDM send). */
  public SendPolicy(
      int version,
      String secretId,
      String sender,
      Instant notBefore,
      Instant notAfter,
      RecipientSelector recipients,
      boolean lateRecipients,
      int maxRecipients,
      String rsaContent) {
    this(
        version,
        secretId,
        sender,
        notBefore,
        notAfter,
        recipients,
        lateRecipients,
        maxRecipients,
        rsaContent,
        null);
  }

  public SendPolicy {
    if (version != VERSION) {
      throw new IllegalArgumentException(
          "unsupported policy version " + version + "; expected " + VERSION);
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
   * @param thumbprints explicit certificate thumbprints: base64 (standard, padded, 28 characters)
   *     SHA-1 of the leaf certificate's DER TBSCertificate, as SMPTE ST 430-2 names a certificate;
   *     a recipient whose leaf has one of them is selected (a screen chosen by the studio)
   */
  public record RecipientSelector(
      List<String> fingerprints,
      List<String> anchors,
      Map<String, String> subject,
      @JsonInclude(JsonInclude.Include.NON_EMPTY) List<String> thumbprints) {
    public static final int MAX_FINGERPRINTS = MAX_RECIPIENTS;
    public static final int MAX_ANCHORS = 16;

    /** Most certificate thumbprints one selector may list. */
    public static final int MAX_THUMBPRINTS = 250_000;

    /** A selector without certificate thumbprints. */
    public RecipientSelector(
        List<String> fingerprints, List<String> anchors, Map<String, String> subject) {
      this(fingerprints, anchors, subject, List.of());
    }

    public RecipientSelector {
      fingerprints = fingerprints == null ? List.of() : List.copyOf(fingerprints);
      anchors = anchors == null ? List.of() : List.copyOf(anchors);
      subject = subject == null ? Map.of() : Map.copyOf(subject);
      thumbprints = thumbprints == null ? List.of() : List.copyOf(thumbprints);
      if (fingerprints.isEmpty() && anchors.isEmpty() && thumbprints.isEmpty()) {
        throw new IllegalArgumentException("recipients needs fingerprints, anchors or thumbprints");
      }
      if (thumbprints.size() > MAX_THUMBPRINTS) {
        throw new IllegalArgumentException("more than " + MAX_THUMBPRINTS + " thumbprints");
      }
      for (String t : thumbprints) {
        if (!isWellFormedThumbprint(t)) {
          throw new IllegalArgumentException(
              "thumbprint " + quote(t) + " is not base64 of 20 bytes (28 characters)");
        }
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

  /**
   * What makes a send a KDM send (wire-format.md section 9): how its KDMs are formulated. The key
   * window is the policy's {@code not_before}/{@code not_after}; the cap is {@code max_recipients}.
   *
   * @param formulation ISDCF formulation wire name ({@code modified-transitional-1} when absent)
   * @param forensicMarkFlags ST 430-1 ForensicMarkFlag URIs (may be empty)
   * @param contentAuthenticator base64 SHA-1 thumbprint of the CPL signer's certificate; required
   *     by {@code dci-any} and {@code dci-specific}, refused by the others
   * @param annotation the KDMs' AnnotationText; absent: the content title
   */
  public record KdmRules(
      String formulation,
      @JsonInclude(JsonInclude.Include.NON_EMPTY) List<String> forensicMarkFlags,
      String contentAuthenticator,
      String annotation) {
    /** Most forensic-mark flags one KDM carries. */
    public static final int MAX_FORENSIC_MARK_FLAGS = 8;

    /** Longest annotation accepted, in characters. */
    public static final int MAX_ANNOTATION = 256;

    public KdmRules {
      if (formulation == null) {
        formulation = KdmFormulation.MODIFIED_TRANSITIONAL_1.wireName();
      }
      KdmFormulation f;
      try {
        f = KdmFormulation.parse(formulation);
      } catch (CinemaException e) {
        throw new IllegalArgumentException("kdm.formulation: " + e.getMessage());
      }
      forensicMarkFlags = forensicMarkFlags == null ? List.of() : List.copyOf(forensicMarkFlags);
      if (forensicMarkFlags.size() > MAX_FORENSIC_MARK_FLAGS) {
        throw new IllegalArgumentException(
            "kdm.forensic_mark_flags: more than " + MAX_FORENSIC_MARK_FLAGS);
      }
      for (String flag : forensicMarkFlags) {
        if (!ForensicMarkFlags.isKnown(flag)) {
          throw new IllegalArgumentException(
              "kdm.forensic_mark_flags: unknown flag " + quote(flag));
        }
      }
      if (f.needsContentAuthenticator() != (contentAuthenticator != null)) {
        throw new IllegalArgumentException(
            f.needsContentAuthenticator()
                ? "kdm.content_authenticator is required by " + f.wireName()
                : "kdm.content_authenticator is only allowed with dci-any and dci-specific");
      }
      if (contentAuthenticator != null && !isWellFormedThumbprint(contentAuthenticator)) {
        throw new IllegalArgumentException("kdm.content_authenticator is not base64 of 20 bytes");
      }
      if (annotation != null
          && (annotation.isEmpty()
              || annotation.length() > MAX_ANNOTATION
              || !dev.keycast.protocol.cinema.KdmText.isWritable(annotation))) {
        throw new IllegalArgumentException(
            "kdm.annotation must be 1 to "
                + MAX_ANNOTATION
                + " characters without control characters or characters XML does not allow");
      }
    }

    /** The parsed formulation. */
    public KdmFormulation parsedFormulation() {
      try {
        return KdmFormulation.parse(formulation);
      } catch (CinemaException e) {
        throw new IllegalStateException(e); // checked by the constructor
      }
    }
  }

  /** True when this is a KDM send. */
  @JsonIgnore
  public boolean isKdmSend() {
    return kdm != null;
  }

  /**
   * True when {@code t} is an ST 430-2 certificate thumbprint as policies carry it: standard
   * base64 with padding of exactly 20 bytes (28 characters).
   */
  public static boolean isWellFormedThumbprint(String t) {
    if (t == null || t.length() != 28 || !t.endsWith("=") || t.charAt(26) == '=') {
      return false;
    }
    for (int i = 0; i < 27; i++) {
      char c = t.charAt(i);
      if (!((c >= 'A' && c <= 'Z')
          || (c >= 'a' && c <= 'z')
          || (c >= '0' && c <= '9')
          || c == '+'
          || c == '/')) {
        return false;
      }
    }
    // the last character before the padding carries 2 bits: its low 4 bits must be zero
    return "AEIMQUYcgkosw048".indexOf(t.charAt(26)) >= 0;
  }

  /** Parses and validates policy bytes exactly as they travel as HPKE associated data. */
  public static SendPolicy parse(byte[] policyBytes) throws MalformedInputException {
    try {
      return Json.decode(policyBytes, MAX_BYTES, SendPolicy.class);
    } catch (MalformedInputException e) {
      if (e.getMessage() != null && e.getMessage().contains("unsupported policy version")) {
        throw new MalformedInputException(
            MalformedInputException.Kind.UNSUPPORTED_VERSION, e.getMessage());
      }
      throw new MalformedInputException(
          e.kind() == MalformedInputException.Kind.OVERSIZE
              ? MalformedInputException.Kind.OVERSIZE
              : MalformedInputException.Kind.INVALID_POLICY,
          "policy: " + e.getMessage());
    }
  }

  /** The policy as JSON bytes (for senders building a send). */
  public byte[] toJson() {
    return Json.encode(this);
  }

  /**
   * True when deliveries may be made at {@code now}: inside the validity window (inclusive); for a
   * KDM send, whose window is the keys' window that KDMs are issued ahead of (a booking for next
   * week), any time up to {@code not_after}.
   */
  public boolean isValidAt(Instant now) {
    return (kdm != null || !now.isBefore(notBefore)) && !now.isAfter(notAfter);
  }

  private static String quote(String s) {
    return MalformedInputException.quote(s, 40);
  }
}
