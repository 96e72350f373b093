package dev.keycast.enclave.server;

import dev.keycast.enclave.keyset.KeySetService;
import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.api.ErrorCode;
import dev.keycast.protocol.attestation.Attester;
import dev.keycast.protocol.attestation.AttesterException;
import dev.keycast.protocol.keyset.KeyBundle;

/**
 * {@code GET /v1/attestation?nonce=...}: an attestation document whose {@code public_key} is the
 * receive key's X25519 SPKI DER ({@link KeyBundle#receivePublicKeySpki()}), whose {@code user_data}
 * is the key bundle digest ({@link KeyBundle#userData()}, which covers the id of the KMS key that
 * protects the key set) and whose {@code nonce} is the client's
 * (0..{@value EnclaveApi#MAX_NONCE_BYTES} bytes; absent means none).
 */
public final class AttestationService {
  private final Attester attester;
  private final KeySetService keys;

  /** Sender identity (issue 23): the sender set in force goes into the bundle (version 4). */
  private final SenderAuthorizer senders;

  public AttestationService(Attester attester, KeySetService keys) {
    this(attester, keys, null);
  }

  /** Attests bundles that name {@code senders}' set in force (null: none). */
  public AttestationService(Attester attester, KeySetService keys, SenderAuthorizer senders) {
    this.attester = attester;
    this.keys = keys;
    this.senders = senders;
  }

  /** Attests the current key bundle with {@code nonce} (base64url, or null for none). */
  public EnclaveApi.AttestationResponse attest(String nonceB64) throws EnclaveApiException {
    KeyBundle bundle = keys.currentBundle().orElseThrow(EnclaveApiException::notReady);
    if (senders != null) {
      bundle = senders.attested(bundle);
    }
    byte[] nonce = null;
    if (nonceB64 != null) {
      try {
        nonce = Base64Url.decode("nonce", nonceB64, EnclaveApi.MAX_NONCE_BYTES);
      } catch (MalformedInputException e) {
        throw new EnclaveApiException(
            ErrorCode.MALFORMED_REQUEST,
            e.getMessage() + " (the nonce is at most " + EnclaveApi.MAX_NONCE_BYTES + " bytes)");
      }
    }
    try {
      byte[] doc = attester.attest(bundle.userData(), nonce, bundle.receivePublicKeySpki());
      return new EnclaveApi.AttestationResponse(Base64Url.encode(doc), apiBundle(bundle));
    } catch (AttesterException e) {
      throw new EnclaveApiException(
          ErrorCode.INTERNAL, "the attestation document could not be produced");
    }
  }

  /**
   * The API form of a key bundle: raw 32-byte public keys, the KMS key id, the KDM signer chain
   * (DER, leaf first) and the 32-byte {@code user_data} digest, base64url.
   */
  public static EnclaveApi.KeyBundle apiBundle(KeyBundle bundle) {
    return new EnclaveApi.KeyBundle(
        bundle.keySetId(),
        Base64Url.encode(bundle.receivePublicKey()),
        Base64Url.encode(bundle.signingPublicKey()),
        bundle.kmsKeyId(),
        Base64Url.encode(bundle.userData()),
        bundle
            .kmsKeyCheck()
            .map(c -> new EnclaveApi.KmsKeyCheck(c.locked(), Base64Url.encode(c.policySha256())))
            .orElse(null),
        bundle
            .senderSet()
            .map(r -> new EnclaveApi.SenderSetRef(r.version(), Base64Url.encode(r.sha256())))
            .orElse(null),
        bundle.kdmSignerChain().isEmpty()
            ? null
            : bundle.kdmSignerChain().stream().map(Base64Url::encode).toList());
  }
}
