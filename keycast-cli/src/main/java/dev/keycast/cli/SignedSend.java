package dev.keycast.cli;

import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.api.HostApi;
import dev.keycast.protocol.policy.SendPolicy;
import dev.keycast.protocol.receipt.Receipt;
import dev.keycast.protocol.receipt.ReceiptSigner;
import dev.keycast.protocol.send.SealedSendPayload;
import dev.keycast.protocol.send.SendPayloadSealer;
import dev.keycast.protocol.sender.SendSigner;
import dev.keycast.protocol.sender.SenderSet;
import dev.keycast.protocol.sender.SenderSigningKey;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.Arrays;

/**
 * The path every sending command shares ({@code keycast send}, {@code keycast kdm send}): verify the
 * enclave (attestation, pins, KMS key), seal the secret with HPKE to the attested key with the
 * exact policy bytes as associated data, zeroize the secret, sign the payload with a sender key the
 * attested sender set admits, POST it, and verify the signed receipt against this payload.
 */
final class SignedSend {
  /** What came back: the verified enclave, the host's result, the receipt's bytes, the verified receipt. */
  record Outcome(
      EnclaveIdentity enclave, HostApi.SendResult result, byte[] receiptBytes, Receipt receipt) {}

  private SignedSend() {}

  /**
   * Sends {@code secret} under {@code policyBytes}; {@code secret} is zeroized before this returns
   * or throws.
   *
   * @param big whether to show a progress line while the host works (a large fan-out)
   */
  static Outcome send(
      HostClient host,
      AttestationOptions.Pins pins,
      byte[] policyBytes,
      SendPolicy policy,
      byte[] secret,
      Path senderKey,
      Path receiptOut,
      boolean big,
      PrintWriter err)
      throws CliException, HostException {
    SenderSigningKey signer;
    try {
      if (senderKey == null) {
        throw CliException.usage(
            "--sender-key is required: the enclave refuses unsigned sends"
                + " (create one with 'keycast sender keygen' and have the key set's owner add it)");
      }
      signer = SenderSets.readPrivate(senderKey, "--sender-key");
    } catch (CliException e) {
      Arrays.fill(secret, (byte) 0);
      throw e;
    }
    SecureRandom random = new SecureRandom();
    EnclaveApi.SendPayload payload;
    EnclaveIdentity enclave;
    byte[] enc;
    byte[] ct;
    try {
      enclave = EnclaveIdentity.verifyEnclave(host, pins, random);
      SealedSendPayload sealed;
      try {
        sealed =
            SendPayloadSealer.v1(enclave.bundle().keySetId(), enclave.bundle().receivePublicKey())
                .seal(policyBytes, secret, random);
      } catch (MalformedInputException e) {
        throw CliException.verification("the attested receive key is unusable: " + e.getMessage());
      }
      enc = sealed.enc();
      ct = sealed.ciphertext();
      payload = sealed.toApi();
      // sender identity (issue 23): only a sender the attested sender set admits is served
      SenderSet senders = SenderSets.verified(host, enclave.bundle());
      if (!senders.allowsSender(signer.publicKey())) {
        throw CliException.verification(
            "your sender key "
                + signer.publicKey().fingerprint()
                + " is not in the attested sender set version "
                + senders.version()
                + ": ask the key set's owner to add it (keycast sender add)");
      }
      try {
        payload = SendSigner.sign(payload, signer, Instant.now());
      } catch (MalformedInputException e) {
        throw new IllegalStateException("a payload this command built does not decode", e);
      }
    } finally {
      Arrays.fill(secret, (byte) 0);
      signer.destroy();
    }

    HostApi.SendResult result;
    try (Progress p = Progress.waiting(err, "sending, waiting for the receipt", big)) {
      result = host.send(payload);
    }
    if (result.receipt() == null || result.sendId() == null) {
      throw HostException.unreachable("the host's send result lacks the receipt or the send id");
    }
    byte[] receiptBytes;
    try {
      receiptBytes = Base64Url.decode("receipt", result.receipt(), ReceiptSigner.MAX_ENCODED);
    } catch (MalformedInputException e) {
      throw CliException.verification("send " + result.sendId() + ": " + e.getMessage());
    }
    if (receiptOut != null) {
      CliFiles.write(receiptOut, receiptBytes, false, true);
    }
    Receipt receipt =
        SendCommand.checkReceipt(receiptBytes, enclave, result, policy, policyBytes, enc, ct);
    return new Outcome(enclave, result, receiptBytes, receipt);
  }
}
