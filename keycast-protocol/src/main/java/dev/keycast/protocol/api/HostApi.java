package dev.keycast.protocol.api;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * Request and response bodies of the host proxy's public HTTP API (clients to host). Byte fields
 * are base64url without padding. See {@code src/site/markdown/api.md}.
 */
public final class HostApi {
  private HostApi() {}

  /** Largest public request body, in bytes (checked before anything reaches the enclave). */
  public static final int MAX_REQUEST_BYTES = 64 * 1024 * 1024;

  /**
   * POST /v1/recipients. {@code key} is PEM text (a public key, or a certificate chain leaf first)
   * or base64url DER SPKI. Labels are for people only: they never decide eligibility. {@code token}
   * is a challenge token of POST /v1/recipients/challenge for this key and {@code proof} the proof
   * of possession of the key ({@link RecipientProof}).
   */
  public record RegisterRecipient(
      String key, Map<String, String> labels, String token, String proof) {}

  /** A registered recipient. */
  public record Recipient(
      String fingerprint,
      String kind,
      Map<String, String> labels,
      Instant registeredAt,
      int lateDeliveries) {}

  /** One delivery as listed to its recipient. */
  public record DeliverySummary(
      String deliveryId, String sendId, String recipient, String format, Instant createdAt) {}

  /** GET /v1/recipients/{fingerprint}/deliveries?after=...&limit=... */
  public record DeliveryPage(List<DeliverySummary> deliveries, String next) {}

  /** Answer to POST /v1/sends (the body of which is an {@link EnclaveApi.SendPayload}). */
  public record SendResult(
      String sendId,
      String secretId,
      String receiptId,
      String receipt,
      List<DeliverySummary> delivered,
      List<EnclaveApi.Skipped> skipped,
      boolean replayed) {}

  /**
   * {@code POST /v1/bookings} (api.md section 2.6): base64url of the exact {@link
   * dev.keycast.protocol.booking.KdmBooking} bytes and the distributor's sender signature.
   */
  public record BookingRequest(String booking, EnclaveApi.SenderSignature sender) {}

  /**
   * Answer to {@code POST /v1/bookings}: the booking's KDMs (stored as the send {@code bookingId},
   * fetched with {@code GET /v1/screens/{t}/kdms} and {@code GET /v1/cinemas/{name}/kdms}), the
   * screens refused with their reasons, and the booked thumbprints the host has no screen for.
   */
  public record BookingResult(
      String bookingId,
      String cplId,
      String dkdmMessageId,
      String receiptId,
      String receipt,
      List<DeliverySummary> delivered,
      List<EnclaveApi.Skipped> skipped,
      List<String> unknownScreens,
      boolean replayed) {}

  /**
   * One ingested DKDM as {@code GET /v1/dkdms?cpl=UUID} lists it (api.md section 2.5): the host's
   * copies of the binding's fields, never the sealed keys. Convenience data: the enclave decides
   * from the sealed binding.
   */
  public record DkdmSummary(
      String messageId,
      String cplId,
      String keySetId,
      String notValidAfter,
      String signerThumbprint,
      String ingestedAt) {}

  /** {@code GET /v1/dkdms?cpl=UUID}: the DKDMs ingested for a CPL, in message-id order. */
  public record DkdmList(List<DkdmSummary> dkdms) {}

  /** Answer to {@code POST /v1/rules}: what the host stored. */
  public record RulesStored(
      String cplId,
      String dkdmSigner,
      String sender,
      String latestEnd,
      long maxWindowSeconds,
      int maxScreens,
      String issuedAt) {}

  /** GET /v1/receipts/{id}. */
  public record ReceiptView(String receiptId, String sendId, String receipt) {}

  /** Admin GET /admin/status. */
  public record Status(
      String state, String keySetId, Integer sealedKeySetVersion, String enclave, String store) {}

  /**
   * {@code POST /v1/screens} (api.md section 2.4): a screen's ST 430-2 chain (base64 DER, standard
   * or url alphabet, leaf first), its cinema and name (optional), the cinema's UTC offset
   * ({@code +HH:MM}; optional: kept or {@code +00:00}), its trusted-device thumbprints, and the
   * cinema's e-mail addresses its KDMs are mailed to (issue 25; optional: null keeps the stored
   * ones, a list replaces them).
   */
  public record RegisterScreen(
      List<String> chain,
      String cinema,
      String screen,
      String utcOffset,
      List<String> trustedDevices,
      List<String> emails) {
    /** A registration that leaves the cinema's e-mail addresses as they are. */
    public RegisterScreen(
        List<String> chain,
        String cinema,
        String screen,
        String utcOffset,
        List<String> trustedDevices) {
      this(chain, cinema, screen, utcOffset, trustedDevices, null);
    }
  }

  /**
   * {@code POST /v1/sends/{id}/mail} (api.md section 2.7): e-mail the send's KDMs to one cinema, or
   * (null) to every cinema with a screen the send issued a KDM to.
   */
  public record MailRequest(String cinema) {}

  /**
   * One KDM mail of a send: a message to one cinema's addresses with its KDMs zipped.
   *
   * @param cinema the cinema
   * @param messageId the Message-ID every attempt carries (without angle brackets)
   * @param to the addresses
   * @param state {@code queued}, {@code sent} or {@code failed}
   * @param attempts SMTP attempts so far
   * @param nextAttemptAt when a queued message is next tried
   * @param lastError the last SMTP failure, or null
   * @param updatedAt when the state last changed
   */
  public record Mail(
      String cinema,
      String messageId,
      List<String> to,
      String state,
      int attempts,
      Instant nextAttemptAt,
      String lastError,
      Instant updatedAt) {}

  /** A cinema a mail request did not queue a message for, and why ({@code no_email}, {@code no_kdms}). */
  public record MailSkipped(String cinema, String reason) {}

  /**
   * The answer of {@code POST} (202: what was queued) and {@code GET /v1/sends/{id}/mail} (200: every
   * mail of the send); {@code skipped} is empty on GET.
   */
  public record MailStatus(String sendId, List<Mail> mails, List<MailSkipped> skipped) {}

  /**
   * A registered screen as the host answers it.
   *
   * @param thumbprint base64 SHA-1 of the leaf's TBSCertificate (the screen's name in policies)
   * @param thumbprintUrl the same in base64url without padding (the screen's name in paths)
   * @param fingerprint SHA-256 of the leaf's SubjectPublicKeyInfo, hex (its deliveries' recipient)
   * @param subject the leaf's subject (RFC 2253)
   * @param lateDeliveries KDMs forwarded to it before the registration was answered (0 in lists)
   */
  public record Screen(
      String thumbprint,
      String thumbprintUrl,
      String fingerprint,
      String subject,
      String cinema,
      String screen,
      String utcOffset,
      List<String> trustedDevices,
      Instant registeredAt,
      int lateDeliveries,
      List<String> emails) {
    /** A screen answered without its cinema's e-mail addresses (listings). */
    public Screen(
        String thumbprint,
        String thumbprintUrl,
        String fingerprint,
        String subject,
        String cinema,
        String screen,
        String utcOffset,
        List<String> trustedDevices,
        Instant registeredAt,
        int lateDeliveries) {
      this(
          thumbprint,
          thumbprintUrl,
          fingerprint,
          subject,
          cinema,
          screen,
          utcOffset,
          trustedDevices,
          registeredAt,
          lateDeliveries,
          null);
    }
  }

  /** {@code GET /v1/screens}: one page of screens and the cursor of the next (null at the end). */
  public record ScreenPage(List<Screen> screens, String next) {}
}
