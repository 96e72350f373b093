package dev.keycast.host.server;

import dev.keycast.host.store.ArtefactStore;
import dev.keycast.host.store.DkdmRecord;
import dev.keycast.host.store.RulesRecord;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.api.ErrorCode;
import dev.keycast.protocol.api.HostApi;
import dev.keycast.protocol.booking.StudioRules;
import dev.keycast.protocol.sender.RulesStatement;
import dev.keycast.protocol.sender.SenderKey;
import java.time.Clock;
import java.util.List;
import java.util.Objects;

/**
 * {@code POST /v1/rules} (issue 25, api.md section 2.6): stores a studio's signed rules for a CPL
 * whose DKDM was ingested. The host checks what it can to answer a mistake at once (the statement
 * parses, both its signatures verify: the sender's, and the DKDM signer's under the certificate
 * given, whose thumbprint the rules name; it is for this key set and names the signer of a DKDM
 * ingested for the CPL), but decides nothing: the enclave verifies the rules again at every
 * booking. Only the holder of the DKDM signer's key can replace a CPL's rules.
 */
final class RulesRelay {
  /** Largest body: the statement in base64url and the key and signature. */
  static final int MAX_BODY_BYTES = (StudioRules.MAX_ENCODED / 3 + 1) * 4 + 4096;

  private final ArtefactStore store;
  private final StoreCalls stores;
  private final HostControl control;
  private final SenderRequestAuth auth;
  private final Clock clock;

  RulesRelay(
      ArtefactStore store,
      StoreCalls stores,
      HostControl control,
      SenderRequestAuth auth,
      Clock clock) {
    this.store = Objects.requireNonNull(store, "store");
    this.stores = Objects.requireNonNull(stores, "stores");
    this.control = Objects.requireNonNull(control, "control");
    this.auth = Objects.requireNonNull(auth, "auth");
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  /** {@code POST /v1/rules}. */
  HttpAnswer put(HttpCall call) throws ApiException, InterruptedException {
    byte[] body = call.body();
    if (body.length > MAX_BODY_BYTES) {
      throw new ApiException(
          ErrorCode.PAYLOAD_TOO_LARGE,
          "a rules statement body is at most " + MAX_BODY_BYTES + " bytes, got " + body.length);
    }
    auth.require(call);
    EnclaveApi.SignedRules r = Inputs.decode(body, EnclaveApi.SignedRules.class);
    if (r.statement() == null
        || r.key() == null
        || r.signature() == null
        || r.signerCertificate() == null
        || r.signerSignature() == null) {
      throw new ApiException(
          ErrorCode.MALFORMED_REQUEST,
          "rules need statement, key, signature, signer_certificate and signer_signature");
    }
    byte[] statement = Inputs.b64("statement", r.statement(), StudioRules.MAX_ENCODED);
    byte[] key = Inputs.b64("key", r.key(), SenderKey.LENGTH);
    byte[] signature = Inputs.b64("signature", r.signature(), 64);
    byte[] signerDer = Inputs.b64("signer_certificate", r.signerCertificate(), 8192);
    byte[] signerSignature = Inputs.b64("signer_signature", r.signerSignature(), 1024);
    StudioRules rules;
    SenderKey studio;
    try {
      rules = StudioRules.decode(statement);
      studio = SenderKey.of("key", key);
    } catch (MalformedInputException e) {
      throw new ApiException(ErrorCode.RULES_INVALID, e.getMessage());
    }
    RulesStatement st = RulesStatement.of(statement, studio);
    if (signature.length != 64 || !st.verifies(signature)) {
      throw new ApiException(
          ErrorCode.RULES_INVALID, "the rules' signature does not verify under the key given");
    }
    java.security.cert.X509Certificate signer;
    String signerThumbprint;
    try {
      signer =
          (java.security.cert.X509Certificate)
              java.security.cert.CertificateFactory.getInstance("X.509")
                  .generateCertificate(new java.io.ByteArrayInputStream(signerDer));
      signerThumbprint = dev.keycast.protocol.cinema.DcCertificates.thumbprintBase64(signer);
    } catch (java.security.cert.CertificateException
        | dev.keycast.protocol.cinema.CinemaException
        | RuntimeException e) {
      throw new ApiException(
          ErrorCode.RULES_INVALID, "signer_certificate is not an X.509 DER certificate");
    }
    if (!signerThumbprint.equals(rules.dkdmSigner())) {
      throw new ApiException(
          ErrorCode.RULES_DKDM_MISMATCH,
          "the rules name DKDM signer "
              + rules.dkdmSigner()
              + " but come with the certificate "
              + signerThumbprint);
    }
    if (!st.verifiesDkdmSigner(signer, signerSignature)) {
      throw new ApiException(
          ErrorCode.RULES_INVALID, "the rules are not signed with the DKDM signer's key");
    }
    HostApiService.requireReady(control);
    EnclaveApi.KeyBundle bundle = control.keyBundle();
    if (bundle != null && !bundle.keySetId().equals(rules.keySetId())) {
      throw new ApiException(
          ErrorCode.WRONG_KEY_SET,
          "the rules are for key set "
              + rules.keySetId()
              + ", this host serves "
              + bundle.keySetId());
    }
    List<DkdmRecord> dkdms = stores.call("find_dkdms", () -> store.findDkdms(rules.cplId()));
    if (dkdms.isEmpty()) {
      throw new ApiException(
          ErrorCode.DKDM_NOT_FOUND,
          "no DKDM is ingested for CPL "
              + rules.cplId()
              + "; ingest it first (keycast dkdm ingest)");
    }
    if (dkdms.stream().noneMatch(d -> d.signerThumbprint().equals(rules.dkdmSigner()))) {
      throw new ApiException(
          ErrorCode.RULES_DKDM_MISMATCH,
          "no DKDM ingested for CPL " + rules.cplId() + " is signed by " + rules.dkdmSigner());
    }
    RulesRecord record =
        new RulesRecord(
            rules.cplId(), statement, key, signature, signerDer, signerSignature, clock.instant());
    stores.call("put_rules", () -> store.putRules(record));
    return HttpAnswer.json(
        201,
        new HostApi.RulesStored(
            rules.cplId(),
            rules.dkdmSigner(),
            studio.fingerprint(),
            rules.latestEnd().toString(),
            rules.maxWindowSeconds(),
            rules.maxScreens(),
            rules.issuedAt().toString()));
  }
}
