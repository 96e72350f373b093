package dev.keycast.bench.load;

import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.Json;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.attestation.AttestationException;
import dev.keycast.protocol.attestation.AttestationVerifier;
import dev.keycast.protocol.attestation.ExpectedPcrs;
import dev.keycast.protocol.attestation.TrustRoot;
import dev.keycast.protocol.attestation.VerificationPolicy;
import dev.keycast.protocol.attestation.VerifiedAttestation;
import dev.keycast.protocol.keyset.KeyBundle;
import dev.keycast.protocol.policy.SendPolicy;
import dev.keycast.protocol.send.SendPayloadSealer;
import java.io.IOException;
import java.io.PrintWriter;
import java.security.SecureRandom;
import java.util.List;
import java.util.Set;

/**
 * Seals sends exactly as api.md 1.1 says, with the protocol's {@link SendPayloadSealer} (HPKE to the
 * attested receive key, the policy's exact JSON bytes as associated data), after the attestation
 * was checked. Built from {@code GET /v1/attestation} by {@link #attest}.
 */
final class SendSealer {
  private final KeyBundle bundle;
  private final SendPayloadSealer sealer;
  private final dev.keycast.protocol.sender.SenderSigningKey sender;

  SendSealer(KeyBundle bundle) throws MalformedInputException {
    this(bundle, SendPayloadSealer.v1(bundle.keySetId(), bundle.receivePublicKey()), null);
  }

  private SendSealer(
      KeyBundle bundle,
      SendPayloadSealer sealer,
      dev.keycast.protocol.sender.SenderSigningKey sender) {
    this.bundle = bundle;
    this.sealer = sealer;
    this.sender = sender;
  }

  /**
   * This sealer, signing every payload with {@code sender} at the instant it is sealed (api.md
   * 2.3: the enclave refuses unsigned sends and signatures older than its window, 300 s).
   */
  /** The sender that signs every payload, or null. */
  dev.keycast.protocol.sender.SenderSigningKey sender() {
    return sender;
  }

  SendSealer signingWith(dev.keycast.protocol.sender.SenderSigningKey sender) {
    return new SendSealer(bundle, sealer, sender);
  }

  KeyBundle bundle() {
    return bundle;
  }

  /** The payload of {@code POST /v1/sends} for {@code policy} and {@code secret}, as JSON bytes. */
  byte[] seal(SendPolicy policy, byte[] secret, SecureRandom random) {
    try {
      EnclaveApi.SendPayload payload = sealer.seal(policy.toJson(), secret, random).toApi();
      if (sender != null) {
        payload =
            dev.keycast.protocol.sender.SendSigner.sign(payload, sender, java.time.Instant.now());
      }
      return Json.encode(payload);
    } catch (MalformedInputException e) {
      throw new IllegalStateException("attested receive key is unusable: " + e.getMessage(), e);
    }
  }

  /** How the attestation is checked before anything is sealed. */
  record AttestationCheck(
      boolean skip, ExpectedPcrs pcrs, List<TrustRoot> extraRoots, boolean allowDebug) {}

  /**
   * Fetches the attestation with a fresh nonce and, unless {@code check.skip()}, verifies it: the
   * chain to a trusted root, the nonce, the PCRs when given, and that the document's {@code
   * public_key} and {@code user_data} bind the key bundle it came with (wire-format.md 4.2).
   *
   * @throws IOException the host did not answer 200 or the document does not verify
   */
  static SendSealer attest(
      HostClient host, AttestationCheck check, SecureRandom random, PrintWriter err)
      throws IOException, InterruptedException {
    byte[] nonce = new byte[32];
    random.nextBytes(nonce);
    HostClient.Answer a = host.get("/v1/attestation?nonce=" + Base64Url.encode(nonce));
    if (!a.ok()) {
      throw new IOException("GET /v1/attestation answered " + a.status() + " " + a.errorCode());
    }
    try {
      EnclaveApi.AttestationResponse r = a.as(EnclaveApi.AttestationResponse.class);
      EnclaveApi.KeyBundle kb = r.keyBundle();
      if (kb == null) {
        throw new IOException("attestation answer has no key_bundle");
      }
      if (kb.kmsKeyId() == null) {
        throw new IOException("attestation answer's key_bundle has no kms_key_id");
      }
      KeyBundle bundle =
          new KeyBundle(
              kb.keySetId(),
              Base64Url.decode("receive_public_key", kb.receivePublicKey(), 32),
              Base64Url.decode("signing_public_key", kb.signingPublicKey(), 32),
              kb.kmsKeyId());
      bundle = withAttestedParts(bundle, kb);
      if (check.skip()) {
        err.println(
            "WARNING: --insecure-skip-attestation: sealing to an UNVERIFIED key "
                + "(key set "
                + bundle.keySetId()
                + "); for load tests in mock mode only");
        err.flush();
        return new SendSealer(bundle);
      }
      VerificationPolicy.Builder p =
          VerificationPolicy.builder()
              .expectedNonce(nonce)
              .expectedPublicKey(bundle.receivePublicKeySpki())
              .expectedUserData(bundle.userData())
              .allowDebug(check.allowDebug());
      if (check.pcrs() != null) {
        p.expectedPcrs(check.pcrs());
      }
      check.extraRoots().forEach(p::addTrustRoot);
      VerifiedAttestation v =
          AttestationVerifier.create(p.build())
              .verify(Base64Url.decode("document", r.document(), 1 << 20));
      Set<VerifiedAttestation.Warning> w = v.warnings();
      if (!w.isEmpty()) {
        err.println("attestation verified with warnings: " + w);
      }
      return new SendSealer(bundle);
    } catch (MalformedInputException | IllegalArgumentException e) {
      throw new IOException("bad attestation answer: " + e.getMessage(), e);
    } catch (AttestationException e) {
      throw new IOException("attestation does not verify: " + e.getMessage(), e);
    }
  }

  /**
   * The parts of the key bundle that later versions add to the attested encoding (KMS key check,
   * sender set, KDM signer chain: wire-format.md 4.2), as the CLI's attest rebuilds them; without
   * them the bundle's digest is not the document's {@code user_data} and verification fails.
   */
  private static KeyBundle withAttestedParts(KeyBundle bundle, EnclaveApi.KeyBundle kb)
      throws MalformedInputException {
    if (kb.kmsKeyCheck() != null) {
      bundle =
          bundle.withKmsKeyCheck(
              new dev.keycast.protocol.keyset.KmsKeyCheck(
                  kb.kmsKeyCheck().locked(),
                  Base64Url.decode(
                      "kms_key_check.policy_sha256", kb.kmsKeyCheck().policySha256(), 32)));
    }
    if (kb.senderSet() != null) {
      bundle =
          bundle.withSenderSet(
              new KeyBundle.SenderSetRef(
                  kb.senderSet().version(),
                  Base64Url.decode("sender_set.sha256", kb.senderSet().sha256(), 32)));
    }
    if (kb.kdmSignerChain() != null) {
      List<byte[]> chain = new java.util.ArrayList<>();
      for (String c : kb.kdmSignerChain()) {
        chain.add(Base64Url.decode("kdm_signer_chain", c, 64 * 1024));
      }
      bundle = bundle.withKdmSignerChain(chain);
    }
    return bundle;
  }

  @Override
  public String toString() {
    return "SendSealer[" + bundle.keySetId() + "]";
  }
}
