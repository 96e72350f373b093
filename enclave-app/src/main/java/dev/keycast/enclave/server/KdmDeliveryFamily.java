package dev.keycast.enclave.server;

import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.api.ErrorCode;
import dev.keycast.protocol.cinema.CinemaException;
import dev.keycast.protocol.cinema.ContentKey;
import dev.keycast.protocol.cinema.ContentKeySet;
import dev.keycast.protocol.cinema.ContentKeySetCodec;
import dev.keycast.protocol.cinema.DcCertificateChainValidator;
import dev.keycast.protocol.cinema.KdmFormulation;
import dev.keycast.protocol.cinema.KdmRequest;
import dev.keycast.protocol.cinema.KdmSigner;
import dev.keycast.protocol.cinema.KdmWriter;
import dev.keycast.protocol.cinema.ScreenCertificateChain;
import dev.keycast.protocol.policy.ParsedCertificate;
import dev.keycast.protocol.policy.SendPolicy;
import java.security.SecureRandom;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * The KDM delivery family of the {@link SendEngine} (wire-format.md section 9): in a send whose
 * policy carries {@code kdm}, every candidate is a screen and every delivery an SMPTE ST 430-1 KDM
 * ({@code smpte-kdm-v1}, the envelope is the KDM's UTF-8 XML), signed by the key set's KDM signer.
 *
 * <p>One instance lives as long as the engine: it holds the signer source and one {@link
 * KdmWriter} per thread that issues KDMs (a writer is not thread-safe; its buffers and the
 * signer's KeyInfo are reused across KDMs). A fan-out gets its own {@link Send} ({@link #start}), which holds the
 * decoded content keys and zeroizes them when closed. Thread-safe.
 */
final class KdmDeliveryFamily {
  /** Skip reason: the candidate has no certificate chain, so it is no screen. */
  static final String NOT_A_SCREEN = "not_a_screen";

  /** Skip reason: the screen's certificates do not cover the key window. */
  static final String SCREEN_CERTIFICATE_WINDOW = "screen_certificate_window";

  /** Skip reason: the screen's chain is not one the JDK can read (BouncyCastle could). */
  static final String SCREEN_CERTIFICATE_MALFORMED = "screen_certificate_malformed";

  /** {@code +HH:MM} or {@code -HH:MM} (wire-format.md section 9.3). */
  private static final Pattern UTC_OFFSET = Pattern.compile("[+-][0-9]{2}:[0-9]{2}");

  private final KdmSignerSource signers;
  private final SecureRandom random;

  /** One writer per thread that issues KDMs (pool workers, and the caller for tiny sends). */
  private final ThreadLocal<KdmWriter> writers = ThreadLocal.withInitial(KdmWriter::new);

  KdmDeliveryFamily(KdmSignerSource signers, SecureRandom random) {
    this.signers = java.util.Objects.requireNonNull(signers, "signers");
    this.random = random;
  }

  /**
   * Starts the KDM issuance of one fan-out: checks the key window against the signer chain and
   * decodes the content-key set once. Nothing is kept of {@code secret}; the caller zeroizes it.
   *
   * @throws EnclaveApiException {@code invalid_policy} for a key window that does not start before
   *     it ends, {@code kdm_signer_unavailable}, {@code kdm_signer_window}, {@code
   *     invalid_content_keys}
   */
  Send start(SendPolicy policy, byte[] secret, Instant now) throws EnclaveApiException {
    return start(policy, null, secret, now);
  }

  /**
   * As {@link #start(SendPolicy, byte[], Instant)}, with the KDMs' key window {@code window}
   * instead of the policy's when it is not null (a booking).
   */
  Send start(SendPolicy policy, SendEngine.KdmWindow window, byte[] secret, Instant now)
      throws EnclaveApiException {
    SendPolicy.KdmRules rules = policy.kdm();
    Instant notBefore =
        (window == null ? policy.notBefore() : window.notBefore()).truncatedTo(ChronoUnit.SECONDS);
    Instant notAfter =
        (window == null ? policy.notAfter() : window.notAfter()).truncatedTo(ChronoUnit.SECONDS);
    if (!notBefore.isBefore(notAfter)) {
      throw new EnclaveApiException(
          ErrorCode.INVALID_POLICY,
          "policy: a KDM send's key window (not_before, not_after) must start before it ends");
    }
    KdmSigner signer = signers.current();
    for (X509Certificate c : signer.chain()) {
      if (notBefore.isBefore(c.getNotBefore().toInstant())
          || notAfter.isAfter(c.getNotAfter().toInstant())) {
        throw new EnclaveApiException(
            ErrorCode.KDM_SIGNER_WINDOW,
            "the key window "
                + notBefore
                + " to "
                + notAfter
                + " is not inside the KDM signer chain's validity (a certificate of it is valid "
                + c.getNotBefore().toInstant()
                + " to "
                + c.getNotAfter().toInstant()
                + ")");
      }
    }
    ContentKeySet keys;
    try {
      keys = ContentKeySetCodec.decode(secret);
    } catch (CinemaException e) {
      // the codec's messages never carry key bytes (ContentKeySetCodec)
      throw new EnclaveApiException(
          ErrorCode.INVALID_CONTENT_KEYS,
          "a KDM send's secret must be a content-key set (wire-format.md section 9.1): "
              + e.getMessage()
              + " ["
              + e.code()
              + "]");
    }
    return new Send(signer, keys, rules, rules.parsedFormulation(), notBefore, notAfter, now);
  }

  /** A candidate's chain: an accepted screen chain, or the reason it is refused. */
  record Screen(ScreenCertificateChain chain, String skipReason, String message) {}

  /** What one screen gets: a KDM, or a skip with its reason. */
  record Issued(byte[] kdm, String skipReason, String message) {
    static Issued skip(String reason, String message) {
      return new Issued(null, reason, message);
    }
  }

  /** One fan-out's KDM issuance: the signer, the decoded keys and the rules. Used by many threads. */
  final class Send implements AutoCloseable {
    private final KdmSigner signer;
    private final ContentKeySet keys;
    private final SendPolicy.KdmRules rules;
    private final KdmFormulation formulation;
    private final Instant notBefore;
    private final Instant notAfter;
    private final Instant now;

    /** What this send's screen chains share: their CAs' own checks and signatures, done once. */
    private final DcCertificateChainValidator.Memo memo;

    /** The JDK form of the certificates above the leaves (a send's screens share a few CAs). */
    private final java.util.concurrent.ConcurrentHashMap<java.nio.ByteBuffer, X509Certificate>
        authorities = new java.util.concurrent.ConcurrentHashMap<>();

    private Send(
        KdmSigner signer,
        ContentKeySet keys,
        SendPolicy.KdmRules rules,
        KdmFormulation formulation,
        Instant notBefore,
        Instant notAfter,
        Instant now) {
      this.signer = signer;
      this.keys = keys;
      this.rules = rules;
      this.formulation = formulation;
      this.notBefore = notBefore;
      this.notAfter = notAfter;
      this.now = now.truncatedTo(ChronoUnit.SECONDS);
      this.memo = new DcCertificateChainValidator.Memo(this.now);
    }

    /**
     * The cinema data of a candidate, checked before anything is decided: an offset of the wrong
     * syntax or too many trusted devices make the candidate invalid (the request fails), as a
     * malformed key does.
     */
    String checkCinemaData(EnclaveApi.Candidate c) {
      if (c.utcOffset() != null && parseOffset(c.utcOffset()) == null) {
        return "utc_offset must be +HH:MM or -HH:MM (at most 18:00), got "
            + dev.keycast.protocol.MalformedInputException.quote(c.utcOffset(), 16);
      }
      if (c.trustedDevices().size() > EnclaveApi.Candidate.MAX_TRUSTED_DEVICES) {
        return "trusted_devices has "
            + c.trustedDevices().size()
            + " thumbprints, limit "
            + EnclaveApi.Candidate.MAX_TRUSTED_DEVICES;
      }
      for (String t : c.trustedDevices()) {
        if (!SendPolicy.isWellFormedThumbprint(t)) {
          return "trusted_devices holds "
              + dev.keycast.protocol.MalformedInputException.quote(t, 40)
              + ", not base64 of 20 bytes (28 characters)";
        }
      }
      return null;
    }

    /**
     * Validates a candidate's chain as an ST 430-2 screen chain at the send's instant
     * ({@link DcCertificateChainValidator}, kind SCREEN); a refusal is a skip with the check's code.
     */
    Screen screen(List<ParsedCertificate> parsedChain) {
      List<X509Certificate> chain = new ArrayList<>(parsedChain.size());
      try {
        for (int i = 0; i < parsedChain.size(); i++) {
          chain.add(
              i == 0 ? parsedChain.get(i).toX509Certificate() : authority(parsedChain.get(i)));
        }
      } catch (CertificateException | RuntimeException e) {
        return new Screen(
            null,
            SCREEN_CERTIFICATE_MALFORMED,
            "the screen's chain holds a certificate the JDK cannot read");
      }
      try {
        return new Screen(DcCertificateChainValidator.validateScreen(chain, now, memo), null, null);
      } catch (CinemaException e) {
        return new Screen(null, e.code(), e.getMessage());
      }
    }

    /** The JDK form of a certificate above a leaf, converted once per send (at most MAX_REMEMBERED kept). */
    private X509Certificate authority(ParsedCertificate p) throws CertificateException {
      java.nio.ByteBuffer der = java.nio.ByteBuffer.wrap(p.encoded());
      X509Certificate known = authorities.get(der);
      if (known != null) {
        return known;
      }
      X509Certificate c = p.toX509Certificate();
      if (authorities.size() < DcCertificateChainValidator.Memo.MAX_REMEMBERED) {
        authorities.putIfAbsent(der, c);
      }
      return c;
    }

    /**
     * Issues the KDM of an eligible screen whose chain {@link #screen} accepted: skipped when its
     * certificates do not cover the key window, or its formulation needs trusted devices and the
     * screen has none.
     */
    Issued issue(EnclaveApi.Candidate c, ScreenCertificateChain screen) {
      for (X509Certificate cert : screen.chain()) {
        if (notBefore.isBefore(cert.getNotBefore().toInstant())
            || notAfter.isAfter(cert.getNotAfter().toInstant())) {
          return Issued.skip(
              SCREEN_CERTIFICATE_WINDOW,
              "the key window "
                  + notBefore
                  + " to "
                  + notAfter
                  + " is not inside the screen's certificate validity "
                  + cert.getNotBefore().toInstant()
                  + " to "
                  + cert.getNotAfter().toInstant());
        }
      }
      List<String> devices = formulation.needsTrustedDevices() ? c.trustedDevices() : List.of();
      if (formulation.needsTrustedDevices() && devices.isEmpty()) {
        return Issued.skip(
            "kdm_trusted_devices",
            formulation.wireName()
                + " names the screen's trusted devices, and the screen has none registered");
      }
      ZoneOffset offset = c.utcOffset() == null ? ZoneOffset.UTC : parseOffset(c.utcOffset());
      KdmRequest request =
          new KdmRequest(
              keys,
              screen,
              OffsetDateTime.ofInstant(notBefore, offset),
              OffsetDateTime.ofInstant(notAfter, offset),
              formulation,
              devices,
              rules.contentAuthenticator(),
              rules.forensicMarkFlags(),
              messageId(),
              OffsetDateTime.ofInstant(now, offset),
              rules.annotation());
      try {
        return new Issued(writers.get().issue(signer, request, random), null, null);
      } catch (CinemaException e) {
        return Issued.skip(e.code(), e.getMessage());
      }
    }

    /** The decoded content keys (tests check that {@link #close} zeroizes them). */
    ContentKeySet keys() {
      return keys;
    }

    /** Zeroizes the decoded content keys. */
    @Override
    public void close() {
      keys.keys().forEach(ContentKey::zeroize);
    }
  }

  /** A version-4 UUID from the enclave's random source (the KDM's MessageId). */
  private UUID messageId() {
    byte[] b = new byte[16];
    random.nextBytes(b);
    b[6] = (byte) ((b[6] & 0x0f) | 0x40);
    b[8] = (byte) ((b[8] & 0x3f) | 0x80);
    long hi = 0;
    long lo = 0;
    for (int i = 0; i < 8; i++) {
      hi = (hi << 8) | (b[i] & 0xff);
      lo = (lo << 8) | (b[8 + i] & 0xff);
    }
    return new UUID(hi, lo);
  }

  /** The offset of {@code +HH:MM}/{@code -HH:MM}, or null when the text is not one. */
  static ZoneOffset parseOffset(String text) {
    if (text == null || !UTC_OFFSET.matcher(text).matches()) {
      return null;
    }
    try {
      return ZoneOffset.of(text);
    } catch (java.time.DateTimeException e) {
      return null;
    }
  }
}
