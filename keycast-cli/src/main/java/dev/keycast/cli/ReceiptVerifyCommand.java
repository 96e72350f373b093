package dev.keycast.cli;

import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.keyset.KeyBundle;
import dev.keycast.protocol.receipt.Receipt;
import dev.keycast.protocol.receipt.ReceiptSignatureException;
import dev.keycast.protocol.receipt.ReceiptSigner;
import dev.keycast.protocol.receipt.ReceiptVerifier;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code keycast receipt verify}: check a receipt's Ed25519 signature and print what it states. */
@Command(
    name = "verify",
    mixinStandardHelpOptions = true,
    versionProvider = KeycastCli.Version.class,
    sortOptions = false,
    description = {
      "Verify a receipt (COSE_Sign1, raw or base64) with the enclave's signing key and print what it"
          + " states: every delivery (recipient, format, delivery id, envelope SHA-256) and every"
          + " skipped candidate with its reason. Exits 0 only when the signature verifies.",
      "The key comes from a bundle saved by 'keycast attest --out-bundle FILE': its attestation"
          + " document is verified again against --expect-pcrs (measurements and KMS key), so a bundle"
          + " file the host wrote or altered is refused."
    },
    footer = ExitCodes.HELP)
final class ReceiptVerifyCommand extends KeycastCommand {
  @Option(
      names = "--receipt",
      required = true,
      paramLabel = "FILE",
      description =
          "The receipt: raw COSE_Sign1 or receipt bundle bytes, or base64/base64url text ('-' for"
              + " stdin).")
  Path receiptFile;

  @Option(
      names = "--bundle",
      required = true,
      paramLabel = "FILE",
      description =
          "The attested key bundle ('keycast attest --out-bundle FILE', or the output of"
              + " 'keycast attest --json'); its attestation document is verified again, and the receipt must"
              + " name its key set.")
  Path bundle;

  @Mixin AttestationOptions attestationOptions;

  record DeliveryEntry(String recipient, String format, String deliveryId, String envelopeSha256) {}

  record SkippedEntry(String recipient, String reason, String message) {}

  /** The JSON output. */
  record Result(
      boolean verified,
      String keySetId,
      String sendId,
      String kind,
      Instant issuedAt,
      String policySha256,
      String payloadSha256,
      List<DeliveryEntry> deliveries,
      List<SkippedEntry> skipped) {}

  @Override
  int run() throws CliException {
    AttestationOptions.Pins pins = attestationOptions.pins();
    byte[] cose =
        decodeReceipt(CliFiles.read(receiptFile, "--receipt", 2 * ReceiptSigner.MAX_ENCODED));
    KeyBundle attested = EnclaveIdentity.verifyStored(bundle, "--bundle", pins);
    Receipt r;
    try {
      r = ReceiptVerifier.verify(cose, attested);
    } catch (ReceiptSignatureException e) {
      throw CliException.verification(
          "signature: "
              + e.getMessage()
              + " (not signed by this key set's signing key, or altered)");
    } catch (MalformedInputException e) {
      throw CliException.verification(e.code() + ": " + e.getMessage());
    }
    HexFormat hex = HexFormat.of();
    List<DeliveryEntry> d =
        r.deliveries().stream()
            .map(
                x ->
                    new DeliveryEntry(
                        x.recipientFingerprint(),
                        x.formatId(),
                        x.deliveryId(),
                        hex.formatHex(x.envelopeSha256())))
            .toList();
    List<SkippedEntry> s =
        r.skipped().stream()
            .map(x -> new SkippedEntry(x.recipientFingerprint(), x.reasonCode(), x.message()))
            .toList();
    if (json) {
      printJson(
          new Result(
              true,
              r.keySetId(),
              r.sendId(),
              r.kind().wire(),
              r.issuedAt(),
              hex.formatHex(r.policySha256()),
              hex.formatHex(r.payloadSha256()),
              d,
              s));
      return ExitCodes.OK;
    }
    var out = out();
    out.println("receipt:      signature verified (Ed25519, key set " + r.keySetId() + ")");
    out.println(
        "bundle:       attestation verified again (measurements and KMS key "
            + attested.kmsKeyId()
            + " as pinned)");
    out.println("send:         " + r.sendId() + " (" + r.kind().wire() + ")");
    out.println("issued at:    " + r.issuedAt());
    out.println("policy:       sha256 " + hex.formatHex(r.policySha256()));
    out.println("payload:      sha256 " + hex.formatHex(r.payloadSha256()));
    out.println("delivered:    " + d.size());
    for (DeliveryEntry e : d) {
      out.println(
          "  "
              + e.recipient()
              + "  "
              + e.format()
              + "  "
              + e.deliveryId()
              + "  envelope sha256 "
              + e.envelopeSha256());
    }
    out.println("skipped:      " + s.size());
    for (SkippedEntry e : s) {
      out.println("  " + e.recipient() + "  " + e.reason() + ": " + e.message());
    }
    return ExitCodes.OK;
  }

  /**
   * Raw bytes when they start with tag 18 (0xd2) or an array of 4 (0x84), a COSE_Sign1, or an array
   * of 3 (0x83), a version 3 receipt bundle (wire-format.md 5.6); otherwise base64 text.
   */
  static byte[] decodeReceipt(byte[] data) throws CliException {
    int first = data.length > 0 ? data[0] & 0xff : -1;
    if (first == 0xd2 || first == 0x84 || first == 0x83) {
      return data;
    }
    String text = new String(data, StandardCharsets.US_ASCII).replaceAll("\\s", "");
    try {
      return Base64.getUrlDecoder().decode(text.replace('+', '-').replace('/', '_'));
    } catch (IllegalArgumentException e) {
      throw CliException.verification(
          "malformed: the receipt is neither COSE_Sign1 or receipt bundle bytes nor base64 of them");
    }
  }
}
