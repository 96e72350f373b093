package dev.keycast.cli;

import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.attestation.ExpectedPcrs;
import dev.keycast.protocol.attestation.TrustRoot;
import dev.keycast.protocol.attestation.ValidationTime;
import dev.keycast.protocol.attestation.VerificationPolicy;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;

/**
 * What a client requires of the enclave before it trusts it: {@code --expect-pcrs}, {@code
 * --expect-kms-key}, {@code --allow-unlocked-kms-key}, {@code --trust-root}, {@code --allow-debug},
 * {@code --max-age}. A picocli mixin.
 *
 * <p>The two pins go together and neither can be forgotten: {@link #pins()} refuses to return
 * without the measurements and a KMS key ARN. The ARN comes from the deployment file itself (its
 * {@code "kms_key_arn"} member, which {@code scripts/run-local} and operators publish beside the
 * PCRs) or from {@code --expect-kms-key}; when the file names one, {@code --expect-kms-key} may
 * only repeat it (a flag cannot widen a published pin).
 */
final class AttestationOptions {
  @Option(
      names = "--expect-pcrs",
      paramLabel = "FILE",
      order = -19,
      description =
          "The published deployment file: the measurements of the enclave image you trust"
              + " (nitro-cli build output or Keycast {\"version\":1,\"allowed\":[...]}) and, in its"
              + " \"kms_key_arn\" member, the KMS key that protects the enclave's keys. Required.")
  Path expectPcrs;

  @Option(
      names = "--expect-kms-key",
      paramLabel = "ARN",
      order = -185,
      description =
          "The ARN of the KMS key the operator published beside the measurements (its key"
              + " policy releases the enclave's keys only to the measured image), when the --expect-pcrs"
              + " file does not name it (\"kms_key_arn\"). One of the two is required: an enclave whose"
              + " key set is protected by any other KMS key is refused. Repeatable (any of them).")
  List<String> expectKmsKeys = new ArrayList<>();

  @Option(
      names = "--allow-unlocked-kms-key",
      order = -184,
      description =
          "Accept an enclave whose KMS key is not locked (its policy or grants let someone other"
              + " than the attested enclave decrypt, or the enclave could not check). Warns on every use.")
  boolean allowUnlockedKmsKey;

  @Option(
      names = "--trust-root",
      paramLabel = "PEM",
      order = -18,
      description =
          "Also trust this attestation root certificate, e.g. a mock enclave's root (prints"
              + " a warning; documents it signs prove nothing about AWS hardware). Repeatable.")
  List<Path> trustRoots = new ArrayList<>();

  @Option(
      names = "--allow-debug",
      order = -17,
      description = "Accept a debug-mode enclave (PCR0 all zeros). Never for production secrets.")
  boolean allowDebug;

  @Option(
      names = "--max-age",
      paramLabel = "DURATION",
      defaultValue = "5m",
      order = -16,
      description = "Maximum age of the attestation document. Default: ${DEFAULT-VALUE}.")
  String maxAge;

  /**
   * What a client pins: the verification policy (measurements, roots, ...), the KMS key ARNs, and
   * whether it accepts a KMS key the enclave did not attest as locked ({@code
   * --allow-unlocked-kms-key}).
   */
  record Pins(
      VerificationPolicy policy, java.util.Set<String> kmsKeys, boolean allowUnlockedKmsKey) {
    Pins {
      if (kmsKeys.isEmpty()) {
        throw new IllegalArgumentException("a KMS key pin is required");
      }
      kmsKeys = java.util.Set.copyOf(kmsKeys);
    }
  }

  /** The member of the deployment file that names the published KMS key. */
  static final String KMS_KEY_ARN_MEMBER = "kms_key_arn";

  /**
   * Both pins, checked before anything goes on the network.
   *
   * @throws CliException {@link ExitCodes#USAGE} when the measurements or the KMS key pin is
   *     missing, malformed or contradictory
   */
  Pins pins() throws CliException {
    if (expectPcrs == null) {
      throw CliException.usage(
          "--expect-pcrs is required: pass the deployment file the operator"
              + " published (the measurements and the KMS key ARN of the enclave you trust)");
    }
    byte[] file = CliFiles.read(expectPcrs, "--expect-pcrs", ExpectedPcrs.MAX_FILE_BYTES);
    ExpectedPcrs pcrs;
    String published;
    try {
      pcrs = ExpectedPcrs.parseJson(file);
      published = ExpectedPcrs.kmsKeyArn(file).orElse(null);
    } catch (MalformedInputException e) {
      throw CliException.usage("--expect-pcrs " + expectPcrs + ": " + e.getMessage());
    }
    for (String arn : expectKmsKeys) {
      if (!dev.keycast.protocol.keyset.KeyBundle.isWellFormedKmsKeyId(arn)) {
        throw CliException.usage(
            "--expect-kms-key " + arn + ": a KMS key ARN is 1..2048 printable ASCII characters");
      }
      if (published != null && !published.equals(arn)) {
        throw CliException.usage(
            "--expect-kms-key "
                + arn
                + " contradicts the KMS key "
                + published
                + " that --expect-pcrs "
                + expectPcrs
                + " pins: drop --expect-kms-key or fix the deployment file");
      }
    }
    java.util.Set<String> kms =
        published != null ? java.util.Set.of(published) : java.util.Set.copyOf(expectKmsKeys);
    if (kms.isEmpty()) {
      throw CliException.usage(
          "no KMS key pin: --expect-pcrs "
              + expectPcrs
              + " names no \""
              + KMS_KEY_ARN_MEMBER
              + "\"; pass --expect-kms-key ARN (the ARN the operator published beside the measurements)");
    }
    VerificationPolicy.Builder b =
        VerificationPolicy.builder()
            .validationTime(ValidationTime.now(Durations.parse("--max-age", maxAge)))
            .allowDebug(allowDebug)
            .expectedPcrs(pcrs);
    for (Path p : trustRoots) {
      try {
        b.addTrustRoot(
            TrustRoot.fromPem(
                p.getFileName().toString(), CliFiles.read(p, "--trust-root", 64 * 1024)));
      } catch (MalformedInputException e) {
        throw CliException.usage("--trust-root " + p + ": " + e.getMessage());
      }
    }
    return new Pins(b.build(), kms, allowUnlockedKmsKey);
  }
}
