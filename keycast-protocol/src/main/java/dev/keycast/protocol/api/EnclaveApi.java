package dev.keycast.protocol.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.time.Instant;
import java.util.List;

/**
 * Request and response bodies of the enclave's HTTP API (host proxy to enclave, over VSOCK). See
 * {@code src/site/markdown/api.md}. Byte fields are base64url without padding.
 */
public final class EnclaveApi {
  private EnclaveApi() {}

  /** Largest request body the enclave accepts on a route it reads whole, in bytes. */
  public static final int MAX_REQUEST_BYTES = 256 * 1024 * 1024;

  /**
   * Largest {@code POST /v1/send} body, in bytes: that body is read as it arrives, never held
   * (api.md 1.1 step 0), and 250,000 RSA-2048 candidates with a certificate each take about 400
   * MB, so it has a cap of its own (issue 28).
   */
  public static final int MAX_SEND_REQUEST_BYTES = 1024 * 1024 * 1024;

  /** Largest client nonce of an attestation request, in bytes. */
  public static final int MAX_NONCE_BYTES = 64;

  /** Largest secret a sender may send, in bytes. */
  public static final int MAX_SECRET_BYTES = 65536;

  /**
   * Trailer of a streamed ({@code Transfer-Encoding: chunked}) {@code 200} answer whose request
   * failed after part of the answer was sent (api.md section 1, "Streamed answers"): the error's
   * HTTP status. The answer is then that error, never a success; its body is unfinished JSON.
   */
  public static final String ANSWER_ERROR_STATUS_TRAILER = "Keycast-Error-Status";

  /** Trailer beside {@link #ANSWER_ERROR_STATUS_TRAILER}: the error's JSON body, base64url without padding. */
  public static final String ANSWER_ERROR_TRAILER = "Keycast-Error";

  /** HPKE suite name of {@link SendPayload#suite()} in protocol version 1. */
  public static final String SUITE_V1 = "DHKEM(X25519,HKDF-SHA256)/HKDF-SHA256/AES-256-GCM";

  /**
   * What a sender submits: the secret sealed with HPKE to the attested receive key. The policy's
   * exact bytes are the HPKE associated data; {@code info} is {@code "keycast/v1/send" || 0x00 ||
   * UTF8(keySetId)}.
   */
  public record SendPayload(
      int version,
      String suite,
      String keySetId,
      String policy,
      String enc,
      String ciphertext,
      SenderSignature sender) {
    /** A payload without a sender signature (which the enclave refuses: sender_required). */
    public SendPayload(
        int version, String suite, String keySetId, String policy, String enc, String ciphertext) {
      this(version, suite, keySetId, policy, enc, ciphertext, null);
    }

    /** This payload signed as {@code sender} (wire-format.md section 8.3). */
    public SendPayload withSender(SenderSignature sender) {
      return new SendPayload(version, suite, keySetId, policy, enc, ciphertext, sender);
    }
  }

  /**
   * The sender's signature of a send (api.md section 1.1, wire-format.md section 8.3): {@code key}
   * the raw Ed25519 public key (base64url, 32 bytes), {@code timestamp} Unix seconds,
   * {@code signature} Ed25519 over the send statement (base64url, 64 bytes).
   */
  public record SenderSignature(String key, Long timestamp, String signature) {}

  /**
   * POST /v1/senders/genesis: the sender set of a key set created by init in this enclave process
   * (api.md section 1.3): owner and sender keys, raw Ed25519, base64url.
   */
  public record SenderGenesisRequest(List<String> ownerKeys, List<String> senderKeys) {}

  /** POST /v1/senders/restore: a sealed sender set the host stored (after unseal). */
  public record SenderRestoreRequest(String sealedSenderSet) {}

  /**
   * The sender set in force: {@code version}, owners and senders as raw Ed25519 keys (base64url),
   * their fingerprints, {@code sha256} (base64url) of its canonical encoding, and, after a change,
   * {@code sealed_sender_set} for the host to store.
   */
  public record SenderSetView(
      long version,
      List<String> ownerKeys,
      List<String> senderKeys,
      List<String> senderFingerprints,
      String sha256,
      String sealedSenderSet) {}

  /**
   * A candidate recipient attached by the host: its public key (SPKI DER) and, optionally, its
   * certificate chain (DER, leaf first; the leaf's key must equal {@code key}).
   *
   * <p>A screen (a KDM send's candidate, wire-format.md section 9) also carries what the host
   * keeps of its cinema: {@code utcOffset}, the offset its KDM's timestamps are written in
   * ({@code +HH:MM} or {@code -HH:MM}; absent: {@code +00:00}), and {@code trustedDevices}, the
   * base64 SHA-1 certificate thumbprints of its trusted devices (the formulations that name
   * devices). Neither decides eligibility: both are the host's word (threat-model.md).
   */
  public record Candidate(
      String key,
      List<String> chain,
      @JsonInclude(JsonInclude.Include.NON_NULL) String utcOffset,
      @JsonInclude(JsonInclude.Include.NON_EMPTY) List<String> trustedDevices) {
    /** Most trusted-device thumbprints one candidate may carry. */
    public static final int MAX_TRUSTED_DEVICES = 64;

    public Candidate {
      chain = chain == null ? List.of() : List.copyOf(chain);
      trustedDevices = trustedDevices == null ? List.of() : List.copyOf(trustedDevices);
    }

    /** A key recipient (no cinema data). */
    public Candidate(String key, List<String> chain) {
      this(key, chain, null, List.of());
    }
  }

  /** POST /v1/send. */
  public record SendRequest(SendPayload payload, List<Candidate> candidates) {
    public SendRequest {
      candidates = candidates == null ? List.of() : List.copyOf(candidates);
    }
  }

  /** One delivery made by the enclave. */
  public record Delivery(String deliveryId, String recipient, String format, String envelope) {}

  /** A candidate that was not delivered to, with a stable reason code. */
  public record Skipped(String recipient, String reason, String message) {}

  /** Answer to POST /v1/send: everything the host must store in one durable step. */
  public record SendResponse(
      String sendId,
      String secretId,
      String receiptId,
      String receipt,
      String sealedSecret,
      List<Delivery> deliveries,
      List<Skipped> skipped) {}

  /** POST /v1/forward: offer a stored sealed secret to recipients that registered later. */
  public record ForwardRequest(
      String sendId, String policy, String sealedSecret, List<Candidate> candidates) {
    public ForwardRequest {
      candidates = candidates == null ? List.of() : List.copyOf(candidates);
    }
  }

  /** Answer to POST /v1/forward. */
  public record ForwardResponse(
      String sendId,
      String receiptId,
      String receipt,
      List<Delivery> deliveries,
      List<Skipped> skipped) {}

  /** POST /v1/recipients/validate. */
  public record ValidateRequest(List<Candidate> recipients) {}

  /** Per-candidate answer of a validation: fingerprint and kind when valid, the error otherwise. */
  public record RecipientCheck(String fingerprint, String kind, boolean valid, String error) {}

  /** Answer to POST /v1/recipients/validate, in request order. */
  public record ValidateResponse(List<RecipientCheck> recipients) {}

  /**
   * The public half of the enclave's key set and the KMS key that protects it ({@code
   * kms_key_id}, the key ARN recorded in the sealed key set's header). {@code user_data} is the
   * SHA-256 of the canonical bundle encoding (wire-format.md 4.2), which covers every other field:
   * a client recomputes it rather than trusting this one. {@code kdm_signer_chain} (bundle version
   * 5, issue 24) is the key set's ST 430-2 KDM signer chain, base64url DER, leaf first; absent
   * (null) before version 5.
   */
  public record KeyBundle(
      String keySetId,
      String receivePublicKey,
      String signingPublicKey,
      String kmsKeyId,
      String userData,
      KmsKeyCheck kmsKeyCheck,
      SenderSetRef senderSet,
      List<String> kdmSignerChain) {
    public KeyBundle {
      kdmSignerChain = kdmSignerChain == null ? null : List.copyOf(kdmSignerChain);
    }

    /** A bundle without a KDM signer chain (bundle version 2, 3 or 4). */
    public KeyBundle(
        String keySetId,
        String receivePublicKey,
        String signingPublicKey,
        String kmsKeyId,
        String userData,
        KmsKeyCheck kmsKeyCheck,
        SenderSetRef senderSet) {
      this(
          keySetId,
          receivePublicKey,
          signingPublicKey,
          kmsKeyId,
          userData,
          kmsKeyCheck,
          senderSet,
          null);
    }

    /** A bundle without a KMS key check (bundle version 2). */
    public KeyBundle(
        String keySetId,
        String receivePublicKey,
        String signingPublicKey,
        String kmsKeyId,
        String userData) {
      this(keySetId, receivePublicKey, signingPublicKey, kmsKeyId, userData, null, null);
    }

    /** A bundle without a sender set (bundle version 2 or 3). */
    public KeyBundle(
        String keySetId,
        String receivePublicKey,
        String signingPublicKey,
        String kmsKeyId,
        String userData,
        KmsKeyCheck kmsKeyCheck) {
      this(keySetId, receivePublicKey, signingPublicKey, kmsKeyId, userData, kmsKeyCheck, null);
    }
  }

  /**
   * The sender set in force, covered by {@code user_data} (bundle version 4, issue 23): its
   * {@code version} and {@code sha256}, base64url SHA-256 of its canonical encoding.
   */
  public record SenderSetRef(Long version, String sha256) {}

  /**
   * The enclave's check of its own KMS key (kms-sealing.md section 6), covered by {@code user_data}
   * (bundle version 3): {@code locked}, and {@code policy_sha256}, base64url SHA-256 of the key
   * policy text KMS returned to the enclave.
   */
  public record KmsKeyCheck(Boolean locked, String policySha256) {}

  /** Answer to GET /v1/attestation?nonce=...: an NSM document over the key bundle. */
  public record AttestationResponse(String document, KeyBundle keyBundle) {}

  /** Temporary AWS credentials handed to the enclave by the host. Never logged. */
  public record AwsCredentials(
      String accessKeyId, String secretAccessKey, String sessionToken, Instant expiration) {
    @Override
    public String toString() {
      return "AwsCredentials[accessKeyId=" + accessKeyId + ", secret=<redacted>]";
    }
  }

  /** POST /v1/keyset/init: first boot. */
  public record InitRequest(String kmsKeyId, String region, AwsCredentials credentials) {}

  /** POST /v1/keyset/unseal: later boots. */
  public record UnsealRequest(String sealedKeySet, String region, AwsCredentials credentials) {}

  /** POST /v1/credentials: refreshed credentials. */
  public record CredentialsRequest(AwsCredentials credentials) {}

  /**
   * Answer to init and unseal. {@code sealedKeySet} is present after init, and after an unseal that
   * migrated a version 1 sealed key set to version 2 (the host stores it as its next version).
   */
  public record KeySetResponse(String sealedKeySet, KeyBundle keyBundle) {}

  /**
   * Answer to POST /v1/kdm-signer/csr (issue 24, wire-format.md section 4.6): a PKCS #10 request
   * (DER, base64url) for the KDM signer leaf key the enclave holds, of key set {@code keySetId}.
   */
  public record KdmSignerCsrResponse(String keySetId, String csr) {}

  /**
   * {@code POST /v1/dkdm/ingest} (issue 25, wire-format.md section 10): a DKDM and the studio
   * roots its signer chain may end in, signed by a sender of the sealed sender set over a {@link
   * dev.keycast.protocol.sender.DkdmIngestStatement}.
   *
   * @param dkdm base64url of the DKDM XML's exact bytes (at most 1 MiB decoded)
   * @param studioRoots base64url DER of 1 to 16 root certificates (at most 4096 bytes each)
   * @param sender the sender's key, timestamp and Ed25519 signature of the statement
   */
  public record DkdmIngestRequest(
      String dkdm,
      java.util.List<String> studioRoots,
      SenderSignature sender,
      @JsonInclude(JsonInclude.Include.NON_EMPTY) java.util.List<LegacyDkdmKey> legacyKeys) {
    public DkdmIngestRequest {
      legacyKeys = legacyKeys == null ? java.util.List.of() : java.util.List.copyOf(legacyKeys);
    }

    /** An ingest as a sender makes it (the host adds the legacy keys it keeps). */
    public DkdmIngestRequest(
        String dkdm, java.util.List<String> studioRoots, SenderSignature sender) {
      this(dkdm, studioRoots, sender, java.util.List.of());
    }

    /**
     * Largest body of a DKDM ingest (host and enclave refuse a larger one before parsing it): a
     * 1 MiB DKDM and 16 roots of 4096 bytes in base64url, and the JSON around them.
     */
    public static final int MAX_BODY_BYTES =
        ((1 << 20) / 3 + 1) * 4
            + 16 * ((4096 / 3 + 1) * 4)
            + 8192
            + 16
                * ((8192 / 3 + 1) * 4
                    + ((4096 + 512) / 3 + 1) * 4
                    + 64); // and 16 legacy keys (10.6)
  }

  /**
   * A legacy DKDM key as the host keeps it and presents it with every ingest (wire-format.md
   * section 10.6): the certificate (base64url DER) and the key sealed under the key set's storage
   * key, bound to that certificate. Not signed by the ingest's sender: only the enclave can have
   * sealed it, and it opens only with its own certificate.
   */
  public record LegacyDkdmKey(String certificate, String sealedKey) {}

  /**
   * POST /v1/dkdm/key-import (wire-format.md section 10.6): a legacy DKDM certificate (base64url
   * DER) and its PKCS #8 private key HPKE-sealed to the attested receive key ({@code enc}, {@code
   * ciphertext}; info {@code "keycast/v1/dkdm-key-import" || 0x00 || key_set_id}, associated data
   * {@link dev.keycast.protocol.cinema.LegacyDkdmKeys#aad}), signed by a sender.
   */
  public record DkdmKeyImportRequest(
      String certificate, String enc, String ciphertext, SenderSignature sender) {}

  /** The answer to {@link DkdmKeyImportRequest}: the certificate's names and the sealed key, never the key. */
  public record DkdmKeyImportResponse(
      String keySetId,
      String thumbprint,
      String subject,
      String issuer,
      String serialNumber,
      String notAfter,
      String certificate,
      String sealedKey) {}

  /**
   * The answer to {@link DkdmIngestRequest}: what was ingested (never a key) and its sealed form,
   * for the host to store. {@code binding} is base64url of the exact {@link
   * dev.keycast.protocol.cinema.DkdmBinding} bytes the keys are sealed with.
   */
  public record DkdmIngestResponse(
      String keySetId,
      String messageId,
      String cplId,
      String contentTitle,
      int keyCount,
      String notValidBefore,
      String notValidAfter,
      String signerThumbprint,
      String studioRootThumbprint,
      String sender,
      String secretId,
      String sealedContentKeys,
      String binding) {}

  /**
   * A studio's signed rules (wire-format.md section 11.1): base64url of the exact {@link
   * dev.keycast.protocol.booking.StudioRules} bytes, the studio's raw Ed25519 key and its signature
   * over the {@link dev.keycast.protocol.sender.RulesStatement}, and the DKDM signer's certificate
   * (DER) with its RSA signature over the same statement. Also the body of the host's
   * {@code POST /v1/rules}.
   */
  public record SignedRules(
      String statement,
      String key,
      String signature,
      String signerCertificate,
      String signerSignature) {}

  /**
   * POST /v1/kdm/book (wire-format.md section 11.5): the distributor's signed booking, the
   * studio's signed rules, the ingested DKDM's sealed keys and binding as the host stored them,
   * and the booked screens the host knows, as KDM-send candidates.
   */
  public record BookingRequest(
      String booking,
      SenderSignature sender,
      SignedRules rules,
      String sealedContentKeys,
      String binding,
      List<Candidate> candidates) {
    /** Most candidates one booking carries ({@link dev.keycast.protocol.booking.KdmBooking#MAX_SCREENS}). */
    public static final int MAX_CANDIDATES = dev.keycast.protocol.booking.KdmBooking.MAX_SCREENS;

    public BookingRequest {
      candidates = candidates == null ? List.of() : List.copyOf(candidates);
    }
  }

  /**
   * Answer to POST /v1/kdm/book: a send answer (the booking id is its {@code send_id}) with the
   * policy the enclave derived from the rules and the booking (base64url of its exact bytes, which
   * the receipt's policy digest covers) and {@link BookingInfo}.
   */
  public record BookingResponse(
      String sendId,
      String secretId,
      String receiptId,
      String receipt,
      String sealedSecret,
      String policy,
      BookingInfo booking,
      List<Delivery> deliveries,
      List<Skipped> skipped) {}

  /**
   * What a booking's answer adds to a send answer (wire-format.md section 11.5): the booking id
   * (the answer's {@code send_id}), the DKDM and rules it used, and the digests the receipt's
   * payload digest covers.
   */
  public record BookingInfo(
      String bookingId,
      String cplId,
      String dkdmMessageId,
      String rulesSender,
      String bookingSha256,
      String rulesSha256,
      String bindingSha256) {}

  /**
   * POST /v1/kdm-signer/csr (optional body): the subject names to request, each 1..64
   * PrintableString characters; absent members default to {@code Keycast}, the key-set id and
   * {@code keycast-kdm-signer} (the CN is {@code CS.<entity>}).
   */
  public record KdmSignerCsrRequest(
      String organization, String organizationalUnit, String entity) {}

  /**
   * POST /v1/kdm-signer/chain (wire-format.md section 4.6): a signer chain issued by the
   * distributor's CA for the enclave's signer key (DER certificates, base64url, leaf first, root
   * last, 2..8) and the credentials for the KMS Decrypt of the re-seal. Answered with a {@link
   * KeySetResponse} holding the re-sealed key set (the host stores it as its next version).
   */
  public record KdmSignerChainRequest(java.util.List<String> chain, AwsCredentials credentials) {
    @Override
    public String toString() {
      return "KdmSignerChainRequest[certificates=" + (chain == null ? 0 : chain.size()) + "]";
    }
  }

  /**
   * GET /v1/ready. {@code state} is {@code not_initialized}, {@code unsealing}, {@code ready} or
   * {@code failed}; {@code reason} says why it is not ready.
   */
  public record Readiness(boolean ready, String state, String keySetId, String reason) {}
}
