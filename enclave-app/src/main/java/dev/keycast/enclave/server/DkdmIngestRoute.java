package dev.keycast.enclave.server;

import dev.keycast.enclave.keyset.KeySetService;
import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.api.ErrorCode;
import dev.keycast.protocol.cinema.CinemaException;
import dev.keycast.protocol.cinema.ContentKey;
import dev.keycast.protocol.cinema.ContentKeySetCodec;
import dev.keycast.protocol.cinema.DkdmBinding;
import dev.keycast.protocol.cinema.DkdmIngest;
import dev.keycast.protocol.cinema.KdmReader;
import dev.keycast.protocol.cinema.KdmSigner;
import dev.keycast.protocol.keyset.KeySet;
import dev.keycast.protocol.keyset.SealedSecret;
import dev.keycast.protocol.sender.SenderKey;
import java.io.ByteArrayInputStream;
import java.security.SecureRandom;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * {@code POST /v1/dkdm/ingest} (issue 25, api.md section 1, wire-format.md section 10): verifies
 * a DKDM addressed to the enclave's DKDM recipient certificate (its KDM signer leaf), decrypts its
 * content keys with the sealed leaf key and seals them under the key set's storage key, bound to
 * the DKDM's window, CPL and signer ({@link DkdmBinding}). The answer names what was ingested and
 * carries the sealed form for the host to store; never a key.
 *
 * <p>Order: sizes capped before decoding; the sender signature over the DKDM and the roots (only
 * a sender of the sealed set decides which studio roots are trusted); then {@link DkdmIngest}'s
 * checks; then sealing. Nothing is kept in the enclave.
 */
public final class DkdmIngestRoute {
  /** Largest request body ({@link EnclaveApi.DkdmIngestRequest#MAX_BODY_BYTES}). */
  public static final int MAX_BODY_BYTES = EnclaveApi.DkdmIngestRequest.MAX_BODY_BYTES;

  /** Largest DER studio root certificate. */
  public static final int MAX_ROOT_BYTES = 4096;

  /** Largest key import body (a certificate, an HPKE-sealed RSA-4096 key and a signature). */
  public static final int MAX_KEY_IMPORT_BYTES = 64 * 1024;

  private final KeySetService keys;
  private final SenderAuthorizer senders;
  private final KdmSignerSource signers;
  private final SecureRandom random;
  private final Clock clock;

  public DkdmIngestRoute(
      KeySetService keys,
      SenderAuthorizer senders,
      KdmSignerSource signers,
      SecureRandom random,
      Clock clock) {
    this.keys = keys;
    this.senders = senders;
    this.signers = signers;
    this.random = random;
    this.clock = clock;
  }

  /** Ingests one DKDM; see the class comment. */
  public EnclaveApi.DkdmIngestResponse ingest(EnclaveApi.DkdmIngestRequest r)
      throws EnclaveApiException {
    KeySet keySet = keys.current().orElseThrow(EnclaveApiException::notReady);
    if (r == null || r.dkdm() == null || r.studioRoots() == null || r.sender() == null) {
      throw new EnclaveApiException(
          r != null && r.dkdm() != null && r.studioRoots() != null
              ? ErrorCode.SENDER_REQUIRED
              : ErrorCode.MALFORMED_REQUEST,
          "a DKDM ingest needs dkdm, studio_roots and a sender signature (keycast dkdm ingest --sender-key)");
    }
    if (r.studioRoots().isEmpty() || r.studioRoots().size() > DkdmIngest.MAX_STUDIO_ROOTS) {
      throw new EnclaveApiException(
          ErrorCode.MALFORMED_REQUEST,
          "studio_roots holds 1 to " + DkdmIngest.MAX_STUDIO_ROOTS + " certificates");
    }
    byte[] dkdm;
    List<byte[]> rootsDer = new ArrayList<>();
    try {
      dkdm = Base64Url.decode("dkdm", r.dkdm(), KdmReader.MAX_KDM_BYTES);
      for (int i = 0; i < r.studioRoots().size(); i++) {
        rootsDer.add(
            Base64Url.decode("studio_roots[" + i + "]", r.studioRoots().get(i), MAX_ROOT_BYTES));
      }
    } catch (MalformedInputException e) {
      throw new EnclaveApiException(
          ErrorCode.MALFORMED_REQUEST,
          e.getMessage()
              + " (a DKDM is at most "
              + KdmReader.MAX_KDM_BYTES
              + " bytes, a root "
              + MAX_ROOT_BYTES
              + " bytes of DER)");
    }
    SenderKey sender = senders.authorizeDkdm(keySet, r.sender(), dkdm, rootsDer);
    List<X509Certificate> roots = parseRoots(rootsDer);
    KdmSigner recipient = signers.current();

    List<DkdmIngest.Recipient> recipients = recipients(keySet, recipient, r.legacyKeys(), sender);
    DkdmIngest.Ingested in;
    try {
      in = DkdmIngest.ingest(dkdm, roots, recipients, clock.instant());
    } catch (CinemaException e) {
      throw new EnclaveApiException(code(e.code()), e.getMessage());
    }
    byte[] plain = null;
    try {
      DkdmBinding binding = DkdmBinding.of(keySet.id(), in, dkdm);
      byte[] bindingBytes = binding.encode();
      plain = ContentKeySetCodec.encode(in.contentKeys());
      SealedSecret sealed =
          SealedSecret.seal(
              keySet,
              binding.secretId(),
              plain,
              bindingBytes,
              sender.raw(),
              java.time.Instant.ofEpochSecond(r.sender().timestamp()),
              random);
      return new EnclaveApi.DkdmIngestResponse(
          keySet.id(),
          binding.messageId(),
          binding.cplId(),
          binding.contentTitle(),
          binding.keyCount(),
          binding.notValidBefore(),
          binding.notValidAfter(),
          binding.signerThumbprint(),
          binding.studioRootThumbprint(),
          sender.fingerprint(),
          binding.secretId(),
          Base64Url.encode(sealed.encode()),
          Base64Url.encode(bindingBytes));
    } catch (CinemaException e) {
      throw new EnclaveApiException(ErrorCode.DKDM_MALFORMED, e.code() + ": " + e.getMessage());
    } finally {
      if (plain != null) {
        Arrays.fill(plain, (byte) 0);
      }
      in.contentKeys().keys().forEach(ContentKey::zeroize);
    }
  }

  /**
   * The certificates a DKDM may be addressed to: the enclave's own DKDM recipient certificate, then
   * each legacy certificate the host presents with its sealed key (wire-format.md section 10.6),
   * whose key is opened only when the DKDM names it, and only for the sender that imported it; a
   * sealed key that does not open with its certificate, or was imported by another sender, then
   * fails the ingest ({@code decryption_failed}).
   */
  private static List<DkdmIngest.Recipient> recipients(
      KeySet keySet, KdmSigner own, List<EnclaveApi.LegacyDkdmKey> legacy, SenderKey ingester)
      throws EnclaveApiException {
    if (legacy.size() > dev.keycast.protocol.cinema.LegacyDkdmKeys.MAX_KEYS) {
      throw new EnclaveApiException(
          ErrorCode.MALFORMED_REQUEST,
          "legacy_keys holds at most "
              + dev.keycast.protocol.cinema.LegacyDkdmKeys.MAX_KEYS
              + " keys");
    }
    List<DkdmIngest.Recipient> out = new ArrayList<>();
    out.add(DkdmIngest.Recipient.of(own));
    for (int i = 0; i < legacy.size(); i++) {
      EnclaveApi.LegacyDkdmKey k = legacy.get(i);
      byte[] der;
      byte[] sealed;
      X509Certificate cert;
      try {
        der =
            Base64Url.decode(
                "legacy_keys[" + i + "].certificate",
                k.certificate(),
                dev.keycast.protocol.cinema.LegacyDkdmKeys.MAX_CERTIFICATE_BYTES);
        sealed =
            Base64Url.decode(
                "legacy_keys[" + i + "].sealed_key", k.sealedKey(), SealedSecret.MAX_ENCODED);
        cert = dev.keycast.protocol.cinema.LegacyDkdmKeys.certificate(der);
      } catch (MalformedInputException | CinemaException | NullPointerException e) {
        throw new EnclaveApiException(
            ErrorCode.MALFORMED_REQUEST,
            "legacy_keys[" + i + "] is not a certificate and a" + " sealed key");
      }
      out.add(
          new DkdmIngest.Recipient(
              cert,
              () -> {
                try {
                  // a legacy key is its importer's: another sender's ingest cannot use it
                  // (wire-format.md 10.6)
                  return dev.keycast.protocol.cinema.LegacyDkdmKeys.open(
                      keySet, der, sealed, ingester.raw());
                } catch (dev.keycast.protocol.DecryptionFailedException e) {
                  throw new CinemaException(
                      "decryption_failed",
                      "the legacy DKDM key the DKDM is addressed to does not open");
                }
              }));
    }
    return out;
  }

  /**
   * {@code POST /v1/dkdm/key-import} (wire-format.md section 10.6): a distributor's existing DKDM
   * certificate and its private key, HPKE-sealed to the attested receive key and signed by a
   * sender, checked (an RSA key of 2048 to 4096 bits, the certificate's own) and sealed under the
   * storage key bound to the certificate, for the host to keep and present with every ingest. The
   * key is never answered, logged or kept in clear; its decrypted bytes are zeroized.
   */
  public EnclaveApi.DkdmKeyImportResponse importKey(EnclaveApi.DkdmKeyImportRequest r)
      throws EnclaveApiException {
    KeySet keySet = keys.current().orElseThrow(EnclaveApiException::notReady);
    if (r == null || r.certificate() == null || r.enc() == null || r.ciphertext() == null) {
      throw new EnclaveApiException(
          ErrorCode.MALFORMED_REQUEST,
          "a key import needs certificate, enc, ciphertext and sender");
    }
    byte[] der;
    byte[] enc;
    byte[] ciphertext;
    try {
      der =
          Base64Url.decode(
              "certificate",
              r.certificate(),
              dev.keycast.protocol.cinema.LegacyDkdmKeys.MAX_CERTIFICATE_BYTES);
      enc = Base64Url.decode("enc", r.enc(), 64);
      ciphertext =
          Base64Url.decode(
              "ciphertext",
              r.ciphertext(),
              dev.keycast.protocol.cinema.LegacyDkdmKeys.MAX_PKCS8_BYTES + 16);
    } catch (MalformedInputException e) {
      throw new EnclaveApiException(ErrorCode.MALFORMED_REQUEST, e.getMessage());
    }
    SenderKey sender =
        senders.authorizeKeyImport(
            keySet,
            r.sender(),
            dev.keycast.protocol.crypto.Sha256.digest(der),
            dev.keycast.protocol.crypto.Sha256.digest(enc, ciphertext));
    X509Certificate cert;
    try {
      cert = dev.keycast.protocol.cinema.LegacyDkdmKeys.certificate(der);
    } catch (CinemaException e) {
      throw new EnclaveApiException(ErrorCode.DKDM_KEY_INVALID, e.getMessage());
    }
    byte[] pkcs8;
    try {
      pkcs8 =
          dev.keycast.protocol.send.SendPayloadOpener.create(
                  dev.keycast.protocol.send.SendPayloadParameters.keyImportV1(keySet.id()),
                  keySet.receiveKeyAgreement())
              .open(dev.keycast.protocol.cinema.LegacyDkdmKeys.aad(der), enc, ciphertext);
    } catch (dev.keycast.protocol.DecryptionFailedException e) {
      throw new EnclaveApiException(
          ErrorCode.DECRYPTION_FAILED, dev.keycast.protocol.DecryptionFailedException.MESSAGE);
    }
    try {
      dev.keycast.protocol.cinema.LegacyDkdmKeys.privateKey(pkcs8, cert);
      SealedSecret sealed =
          dev.keycast.protocol.cinema.LegacyDkdmKeys.seal(
              keySet,
              der,
              pkcs8,
              sender.raw(),
              java.time.Instant.ofEpochSecond(r.sender().timestamp()),
              random);
      return new EnclaveApi.DkdmKeyImportResponse(
          keySet.id(),
          dev.keycast.protocol.cinema.DcCertificates.thumbprintBase64(cert),
          cert.getSubjectX500Principal().getName(),
          cert.getIssuerX500Principal().getName(),
          cert.getSerialNumber().toString(),
          cert.getNotAfter().toInstant().toString(),
          Base64Url.encode(der),
          Base64Url.encode(sealed.encode()));
    } catch (CinemaException e) {
      throw new EnclaveApiException(
          "dkdm_key_mismatch".equals(e.code())
              ? ErrorCode.DKDM_KEY_MISMATCH
              : ErrorCode.DKDM_KEY_INVALID,
          e.getMessage());
    } finally {
      Arrays.fill(pkcs8, (byte) 0);
    }
  }

  private static List<X509Certificate> parseRoots(List<byte[]> der) throws EnclaveApiException {
    List<X509Certificate> out = new ArrayList<>();
    try {
      CertificateFactory f = CertificateFactory.getInstance("X.509");
      for (byte[] d : der) {
        out.add((X509Certificate) f.generateCertificate(new ByteArrayInputStream(d)));
      }
    } catch (CertificateException | ClassCastException e) {
      throw new EnclaveApiException(
          ErrorCode.MALFORMED_REQUEST, "a studio root is not an X.509 DER certificate");
    }
    return out;
  }

  private static ErrorCode code(String cinemaCode) {
    return switch (cinemaCode) {
      case "dkdm_signature_invalid" -> ErrorCode.DKDM_SIGNATURE_INVALID;
      case "dkdm_signer_untrusted" -> ErrorCode.DKDM_SIGNER_UNTRUSTED;
      case "dkdm_wrong_recipient" -> ErrorCode.DKDM_WRONG_RECIPIENT;
      case "dkdm_block_malformed" -> ErrorCode.DKDM_BLOCK_MALFORMED;
      case "dkdm_window_past" -> ErrorCode.DKDM_WINDOW_PAST;
      case "decryption_failed" -> ErrorCode.DECRYPTION_FAILED;
      default -> ErrorCode.DKDM_MALFORMED;
    };
  }

  /**
   * Opens a stored DKDM's sealed content keys with the exact binding bytes they were sealed with
   * (for bookings, issue 25's later slices): the sealed secret must be the binding's ({@code
   * dkdm-<CPL>} id, this key set) and authenticate under the storage key with the binding's digest.
   * Any altered byte of either fails alike ({@code decryption_failed}). The caller zeroizes the keys.
   */
  public static dev.keycast.protocol.cinema.ContentKeySet open(
      KeySet keySet, byte[] sealed, byte[] bindingBytes) throws EnclaveApiException {
    byte[] plain = null;
    try {
      DkdmBinding binding = DkdmBinding.decode(bindingBytes);
      SealedSecret s = SealedSecret.parse(sealed);
      if (!s.secretId().equals(binding.secretId()) || !keySet.id().equals(binding.keySetId())) {
        throw new dev.keycast.protocol.DecryptionFailedException();
      }
      plain = s.open(keySet, bindingBytes);
      dev.keycast.protocol.cinema.ContentKeySet keys = ContentKeySetCodec.decode(plain);
      if (!("urn:uuid:" + keys.cplId()).equals(binding.cplId())
          || keys.keys().size() != binding.keyCount()) {
        keys.keys().forEach(ContentKey::zeroize);
        throw new dev.keycast.protocol.DecryptionFailedException();
      }
      return keys;
    } catch (MalformedInputException
        | CinemaException
        | dev.keycast.protocol.DecryptionFailedException e) {
      throw new EnclaveApiException(
          ErrorCode.DECRYPTION_FAILED, "the sealed DKDM keys do not open with this binding");
    } finally {
      if (plain != null) {
        Arrays.fill(plain, (byte) 0);
      }
    }
  }
}
