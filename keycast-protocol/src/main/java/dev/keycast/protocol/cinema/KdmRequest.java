package dev.keycast.protocol.cinema;

import java.time.OffsetDateTime;
import java.util.List;
import java.util.Objects;
import java.util.UUID;

/**
 * Everything one KDM is made of, apart from the signer: the content keys, the screen it is for,
 * the key window (its offset is the one written, e.g. the cinema's; {@code +00:00} for UTC), the
 * formulation with its trusted-device thumbprints and content authenticator, forensic-mark flags,
 * and the message id, issue date and annotation that make the output deterministic.
 *
 * @param trustedDeviceThumbprints base64 SHA-1 certificate thumbprints for the formulations that
 *     name devices; empty otherwise
 * @param contentAuthenticator base64 SHA-1 thumbprint of the CPL signer's certificate for the DCI
 *     formulations; {@code null} otherwise
 * @param forensicMarkFlags ForensicMarkFlag URIs ({@link ForensicMarkFlags}); may be empty
 * @param annotationText the AnnotationText; {@code null} for the content title
 */
public record KdmRequest(
    ContentKeySet keys,
    ScreenCertificateChain screen,
    OffsetDateTime notValidBefore,
    OffsetDateTime notValidAfter,
    KdmFormulation formulation,
    List<String> trustedDeviceThumbprints,
    String contentAuthenticator,
    List<String> forensicMarkFlags,
    UUID messageId,
    OffsetDateTime issueDate,
    String annotationText) {
  public KdmRequest {
    Objects.requireNonNull(keys, "keys");
    Objects.requireNonNull(screen, "screen");
    Objects.requireNonNull(notValidBefore, "notValidBefore");
    Objects.requireNonNull(notValidAfter, "notValidAfter");
    Objects.requireNonNull(formulation, "formulation");
    Objects.requireNonNull(messageId, "messageId");
    Objects.requireNonNull(issueDate, "issueDate");
    trustedDeviceThumbprints =
        trustedDeviceThumbprints == null ? List.of() : List.copyOf(trustedDeviceThumbprints);
    forensicMarkFlags = forensicMarkFlags == null ? List.of() : List.copyOf(forensicMarkFlags);
  }

  /** A modified-transitional-1 request without forensic-mark flags. */
  public static KdmRequest modifiedTransitional1(
      ContentKeySet keys,
      ScreenCertificateChain screen,
      OffsetDateTime notValidBefore,
      OffsetDateTime notValidAfter,
      UUID messageId,
      OffsetDateTime issueDate) {
    return new KdmRequest(
        keys,
        screen,
        notValidBefore,
        notValidAfter,
        KdmFormulation.MODIFIED_TRANSITIONAL_1,
        List.of(),
        null,
        List.of(),
        messageId,
        issueDate,
        null);
  }
}
