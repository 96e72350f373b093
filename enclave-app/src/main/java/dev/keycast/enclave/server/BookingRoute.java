package dev.keycast.enclave.server;

import com.fasterxml.jackson.core.JsonGenerator;
import dev.keycast.enclave.keyset.KeySetService;
import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.Json;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.api.ErrorCode;
import dev.keycast.protocol.booking.BookingChecks;
import dev.keycast.protocol.booking.BookingException;
import dev.keycast.protocol.booking.KdmBooking;
import dev.keycast.protocol.booking.StudioRules;
import dev.keycast.protocol.cinema.ContentKey;
import dev.keycast.protocol.cinema.ContentKeySet;
import dev.keycast.protocol.cinema.ContentKeySetCodec;
import dev.keycast.protocol.cinema.DkdmBinding;
import dev.keycast.protocol.crypto.Sha256;
import dev.keycast.protocol.keyset.KeySet;
import dev.keycast.protocol.keyset.SealedSecret;
import dev.keycast.protocol.policy.ParsedCertificate;
import dev.keycast.protocol.policy.SendPolicy;
import dev.keycast.protocol.receipt.Receipt;
import dev.keycast.protocol.receipt.ReceiptBuilder;
import dev.keycast.protocol.sender.BookingStatement;
import dev.keycast.protocol.sender.RulesStatement;
import dev.keycast.protocol.sender.SenderKey;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Arrays;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.Set;

/**
 * {@code POST /v1/kdm/book} (issue 25, wire-format.md section 11): issues KDMs from an ingested
 * DKDM's sealed keys to the screens a distributor booked, where the studio's signed rules admit
 * them. The fan-out is the one {@link SendEngine}'s KDM family; the answer is a send answer (the
 * booking id as its {@code send_id}) with the policy the enclave derived and what it used.
 *
 * <p>Order (section 11.5): sizes capped before decoding; (1) the distributor's signature over the
 * booking (a sender of the sealed set, inside the timestamp window); (2) the booking and the rules
 * parse, and the rules' signature verifies under the key given, which MUST still be a sender, and
 * their second signature under the DKDM signer certificate they carry, whose thumbprint they name;
 * (3) the rules name the binding's key set, CPL and DKDM signer (so only the holder of the studio's
 * DKDM signing key can write rules for its DKDMs); (4) the booking's window and
 * size fit the DKDM and the rules; (5) the keys open with the binding ({@code decryption_failed}
 * alike for every cause); (6) every candidate is a screen the booking names (the host cannot add
 * one); (7) the fan-out under a policy whose recipients are the rules' screens, whose cap is the
 * rules' {@code max_screens}, and whose KDMs carry the booking's window. Nothing is kept; the
 * decoded keys are zeroized when the request ends.
 */
public final class BookingRoute {
  /** Largest request body: the booking, the rules, the DKDM's sealed form and 5,000 candidates. */
  public static final int MAX_BODY_BYTES = 64 * 1024 * 1024;

  /** Largest DKDM signer certificate presented with rules (DER). */
  static final int MAX_SIGNER_CERTIFICATE_BYTES = 8192;

  private static final byte[] PAYLOAD_LABEL =
      "keycast/v1/booking-payload".getBytes(StandardCharsets.US_ASCII);

  private final KeySetService keys;
  private final SenderAuthorizer senders;
  private final SendEngine engine;
  private final SecureRandom random;
  private final Clock clock;

  BookingRoute(
      KeySetService keys,
      SenderAuthorizer senders,
      SendEngine engine,
      SecureRandom random,
      Clock clock) {
    this.keys = keys;
    this.senders = senders;
    this.engine = engine;
    this.random = random;
    this.clock = clock;
  }

  /**
   * Books; writes a send answer with {@code policy} and {@code booking} members to {@code json}.
   * The caller MUST discard what was written when this throws.
   */
  public void book(EnclaveApi.BookingRequest r, OutputStream json)
      throws EnclaveApiException, IOException {
    KeySet keySet = keys.current().orElseThrow(EnclaveApiException::notReady);
    if (r == null
        || r.booking() == null
        || r.rules() == null
        || r.sealedContentKeys() == null
        || r.binding() == null) {
      throw malformed("a booking needs booking, sender, rules, sealed_content_keys and binding");
    }
    if (r.candidates().size() > EnclaveApi.BookingRequest.MAX_CANDIDATES) {
      throw new EnclaveApiException(
          ErrorCode.TOO_MANY_RECIPIENTS,
          "a booking carries at most " + EnclaveApi.BookingRequest.MAX_CANDIDATES + " screens");
    }
    EnclaveApi.SignedRules signedRules = r.rules();
    if (signedRules.statement() == null
        || signedRules.key() == null
        || signedRules.signature() == null
        || signedRules.signerCertificate() == null
        || signedRules.signerSignature() == null) {
      throw malformed(
          "rules needs statement, key, signature, signer_certificate and signer_signature");
    }
    byte[] bookingBytes = decode("booking", r.booking(), KdmBooking.MAX_ENCODED);
    byte[] rulesBytes = decode("rules.statement", signedRules.statement(), StudioRules.MAX_ENCODED);
    byte[] rulesSignature = decode("rules.signature", signedRules.signature(), 64);
    byte[] signerDer =
        decode(
            "rules.signer_certificate",
            signedRules.signerCertificate(),
            MAX_SIGNER_CERTIFICATE_BYTES);
    byte[] signerSignature = decode("rules.signer_signature", signedRules.signerSignature(), 1024);
    byte[] sealedBytes =
        decode("sealed_content_keys", r.sealedContentKeys(), SealedSecret.MAX_ENCODED);
    byte[] bindingBytes = decode("binding", r.binding(), DkdmBinding.MAX_ENCODED);
    SenderKey studio;
    try {
      studio = SenderKey.of("rules.key", decode("rules.key", signedRules.key(), SenderKey.LENGTH));
    } catch (MalformedInputException e) {
      throw malformed(e.getMessage());
    }

    // (1) the distributor
    SenderKey booker = senders.authorizeBooking(keySet, r.sender(), bookingBytes);
    Instant signedAt = Instant.ofEpochSecond(r.sender().timestamp());
    String bookingId =
        new BookingStatement(keySet.id(), Sha256.digest(bookingBytes), signedAt, booker)
            .bookingId();
    KdmBooking booking;
    try {
      booking = KdmBooking.decode(bookingBytes);
    } catch (MalformedInputException e) {
      throw new EnclaveApiException(ErrorCode.BOOKING_INVALID, e.getMessage());
    }

    // (2) the studio's rules
    StudioRules rules;
    try {
      rules = StudioRules.decode(rulesBytes);
    } catch (MalformedInputException e) {
      throw new EnclaveApiException(ErrorCode.RULES_INVALID, e.getMessage());
    }
    RulesStatement statement = RulesStatement.of(rulesBytes, studio);
    if (!statement.verifies(rulesSignature)) {
      throw new EnclaveApiException(
          ErrorCode.RULES_INVALID,
          "the rules' signature does not verify under the key given with them");
    }
    senders.requireSender(keySet, studio, "rules statement");
    // the rules are the DKDM signer's: signed with the key of the certificate they name
    java.security.cert.X509Certificate signer;
    try {
      signer =
          (java.security.cert.X509Certificate)
              java.security.cert.CertificateFactory.getInstance("X.509")
                  .generateCertificate(new java.io.ByteArrayInputStream(signerDer));
    } catch (java.security.cert.CertificateException | RuntimeException e) {
      throw new EnclaveApiException(
          ErrorCode.RULES_INVALID, "rules.signer_certificate is not an X.509 DER certificate");
    }
    String signerThumbprint;
    try {
      signerThumbprint = dev.keycast.protocol.cinema.DcCertificates.thumbprintBase64(signer);
    } catch (dev.keycast.protocol.cinema.CinemaException e) {
      throw new EnclaveApiException(
          ErrorCode.RULES_INVALID, "rules.signer_certificate has no readable TBSCertificate");
    }
    if (!signerThumbprint.equals(rules.dkdmSigner())) {
      throw new EnclaveApiException(
          ErrorCode.RULES_DKDM_MISMATCH,
          "the rules name DKDM signer "
              + rules.dkdmSigner()
              + " but come with the certificate "
              + signerThumbprint);
    }
    if (!statement.verifiesDkdmSigner(signer, signerSignature)) {
      throw new EnclaveApiException(
          ErrorCode.RULES_INVALID,
          "the rules are not signed with the key of the DKDM signer they name");
    }

    // (3) the rules are the studio's for this DKDM; (4) the booking fits them
    DkdmBinding binding;
    SealedSecret sealed;
    try {
      binding = DkdmBinding.decode(bindingBytes);
      sealed = SealedSecret.parse(sealedBytes);
    } catch (MalformedInputException | RuntimeException e) {
      throw new EnclaveApiException(
          ErrorCode.DECRYPTION_FAILED, "the sealed DKDM keys do not open with this binding");
    }
    Instant now = clock.instant().truncatedTo(ChronoUnit.SECONDS);
    try {
      BookingChecks.rulesFitDkdm(rules, binding);
      BookingChecks.bookingFits(booking, rules, binding, now);
    } catch (BookingException e) {
      throw new EnclaveApiException(e.code(), e.getMessage());
    }

    // (6) only booked screens, checked before the keys are opened
    Set<String> booked = new HashSet<>(booking.screens());
    for (int i = 0; i < r.candidates().size(); i++) {
      String thumbprint = leafThumbprint(r.candidates().get(i));
      if (thumbprint == null || !booked.contains(thumbprint)) {
        throw new EnclaveApiException(
            ErrorCode.INVALID_RECIPIENT,
            "candidates["
                + i
                + "] is "
                + (thumbprint == null
                    ? "not a screen with a readable chain"
                    : "screen " + thumbprint)
                + ", which the booking does not name");
      }
    }

    // (5) the keys
    ContentKeySet contentKeys = DkdmIngestRoute.open(keySet, sealedBytes, bindingBytes);
    byte[] secret = null;
    try {
      secret = ContentKeySetCodec.encode(contentKeys);
      SendPolicy policy =
          new SendPolicy(
              SendPolicy.VERSION,
              "booking:" + bookingId,
              "",
              now,
              booking.notAfter(),
              rules.screens(),
              false,
              rules.maxScreens(),
              null,
              booking.kdm() == null ? rules.kdm() : booking.kdm());
      byte[] policyBytes = policy.toJson();
      byte[] bookingSha256 = Sha256.digest(bookingBytes);
      byte[] rulesSha256 = Sha256.digest(rulesBytes);
      byte[] bindingSha256 = Sha256.digest(bindingBytes);
      ReceiptBuilder receipt =
          new ReceiptBuilder(
              keySet.id(),
              bookingId,
              Receipt.Kind.SEND,
              Sha256.digest(policyBytes),
              payloadSha256(bookingSha256, rulesSha256, bindingSha256),
              new Receipt.Sender(HexFormat.of().formatHex(booker.raw()), signedAt));
      SealedSecret resealed =
          SealedSecret.seal(
              keySet, policy.secretId(), secret, policyBytes, booker.raw(), signedAt, random);
      JsonGenerator g = Json.mapper().getFactory().createGenerator(json);
      g.writeStartObject();
      g.writeStringField("send_id", bookingId);
      g.writeStringField("secret_id", policy.secretId());
      g.writeStringField("receipt_id", bookingId);
      g.writeStringField("sealed_secret", Base64Url.encode(resealed.encode()));
      g.writeStringField("policy", Base64Url.encode(policyBytes));
      g.writeFieldName("booking");
      g.writeObject(
          new EnclaveApi.BookingInfo(
              bookingId,
              binding.cplId(),
              binding.messageId(),
              studio.fingerprint(),
              Base64Url.encode(bookingSha256),
              Base64Url.encode(rulesSha256),
              Base64Url.encode(bindingSha256)));
      // (7) the fan-out: the rules decide which booked screens get a KDM
      try (SendEngine.FanOut f =
          engine.start(
              new SendEngine.Job(
                  Receipt.Kind.SEND,
                  bookingId,
                  policy,
                  secret,
                  receipt,
                  now,
                  booker,
                  new SendEngine.KdmWindow(booking.notBefore(), booking.notAfter())),
              g)) {
        for (EnclaveApi.Candidate c : r.candidates()) {
          f.add(c);
        }
        f.finish();
        g.writeFieldName("receipt");
        byte[] signed = receipt.sign(clock.instant(), keySet);
        g.writeBinary(SendEngine.BASE64URL, signed, 0, signed.length);
        g.writeEndObject();
        g.flush();
      }
    } finally {
      if (secret != null) {
        Arrays.fill(secret, (byte) 0);
      }
      contentKeys.keys().forEach(ContentKey::zeroize);
    }
  }

  /**
   * The receipt's payload digest of a booking (wire-format.md section 11.5): SHA-256 over {@code
   * "keycast/v1/booking-payload" || 0x00 ||} SHA-256(booking) {@code ||} SHA-256(rules) {@code ||}
   * SHA-256(binding), each over the exact bytes: the receipt names the booking, the rules and the
   * DKDM (whose binding holds the DKDM's own SHA-256).
   */
  public static byte[] payloadSha256(
      byte[] bookingSha256, byte[] rulesSha256, byte[] bindingSha256) {
    return Sha256.digest(PAYLOAD_LABEL, new byte[] {0}, bookingSha256, rulesSha256, bindingSha256);
  }

  /** The base64 thumbprint of a candidate's leaf certificate, or null when it has none readable. */
  private static String leafThumbprint(EnclaveApi.Candidate c) {
    if (c == null || c.chain().isEmpty()) {
      return null;
    }
    try {
      return ParsedCertificate.parse(
              Base64Url.decode(
                  "chain[0]", c.chain().getFirst(), RecipientValidator.MAX_CERTIFICATE_BYTES))
          .thumbprintBase64();
    } catch (MalformedInputException | RuntimeException e) {
      return null;
    }
  }

  private static byte[] decode(String field, String value, int max) throws EnclaveApiException {
    try {
      return Base64Url.decode(field, value, max);
    } catch (MalformedInputException e) {
      throw malformed(e.getMessage());
    }
  }

  private static EnclaveApiException malformed(String message) {
    return new EnclaveApiException(ErrorCode.MALFORMED_REQUEST, message);
  }
}
