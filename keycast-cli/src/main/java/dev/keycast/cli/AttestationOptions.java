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
 */
final class AttestationOptions {
  @Option(names = "--expect-pcrs", required = true, paramLabel = "FILE", order = -19,
      description = "The measurements.json of the enclave image you trust (nitro-cli build output"
          + " or Keycast {\"version\":1,\"allowed\":[...]}).")
  Path expectPcrs;

  @Option(names = "--expect-kms-key", paramLabel = "ARN", order = -185,
      description = "The ARN of the KMS key the operator published beside the measurements (its key"
          + " policy releases the enclave's keys only to the measured image). Refuse an enclave whose"
          + " key set is protected by any other KMS key. Repeatable (any of them).")
  List<String> expectKmsKeys = new ArrayList<>();

  @Option(names = "--allow-unlocked-kms-key", order = -184,
      description = "Accept an enclave whose KMS key is not locked (its policy or grants let someone other"
          + " than the attested enclave decrypt, or the enclave could not check). Warns on every use.")
  boolean allowUnlockedKmsKey;

  @Option(names = "--trust-root", paramLabel = "PEM", order = -18,
      description = "Also trust this attestation root certificate, e.g. a mock enclave's root (prints"
          + " a warning; documents it signs prove nothing about AWS hardware). Repeatable.")
  List<Path> trustRoots = new ArrayList<>();

  @Option(names = "--allow-debug", order = -17,
      description = "Accept a debug-mode enclave (PCR0 all zeros). Never for production secrets.")
  boolean allowDebug;

  @Option(names = "--max-age", paramLabel = "DURATION", defaultValue = "5m", order = -16,
      description = "Maximum age of the attestation document. Default: ${DEFAULT-VALUE}.")
  String maxAge;

  /** The KMS key ARNs given with {@code --expect-kms-key} (empty: not checked). */
  java.util.Set<String> expectedKmsKeys() throws CliException {
    for (String arn : expectKmsKeys) {
      if (!dev.keycast.protocol.keyset.KeyBundle.isWellFormedKmsKeyId(arn)) {
        throw CliException.usage("--expect-kms-key " + arn + ": a KMS key ARN is 1..2048 printable ASCII characters");
      }
    }
    return java.util.Set.copyOf(expectKmsKeys);
  }

  /** The verification policy these options describe (without nonce, key or user-data expectations). */
  VerificationPolicy policy() throws CliException {
    VerificationPolicy.Builder b = VerificationPolicy.builder()
        .validationTime(ValidationTime.now(Durations.parse("--max-age", maxAge)))
        .allowDebug(allowDebug);
    for (Path p : trustRoots) {
      try {
        b.addTrustRoot(TrustRoot.fromPem(p.getFileName().toString(), CliFiles.read(p, "--trust-root", 64 * 1024)));
      } catch (MalformedInputException e) {
        throw CliException.usage("--trust-root " + p + ": " + e.getMessage());
      }
    }
    try {
      b.expectedPcrs(ExpectedPcrs.parseJson(CliFiles.read(expectPcrs, "--expect-pcrs", ExpectedPcrs.MAX_FILE_BYTES)));
    } catch (MalformedInputException e) {
      throw CliException.usage("--expect-pcrs " + expectPcrs + ": " + e.getMessage());
    }
    return b.build();
  }
}
