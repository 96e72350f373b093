package dev.keycast.enclave;

import dev.keycast.enclave.kms.KmsConnector;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.upgrade.ImageApprovers;
import java.util.List;
import java.util.Set;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/**
 * The command-line options every enclave launcher has (a picocli mixin): the production {@link
 * EnclaveMain} and the dev-tier mock launcher.
 */
public final class ServerOptions {
  @Option(
      names = "--listen",
      required = true,
      description = "vsock://ANY:5000, unix:/path or tcp://host:port")
  String listen;

  @Option(
      names = "--kms-egress",
      defaultValue = KmsConnector.DEFAULT_EGRESS,
      description =
          "where the host pipes the enclave's TLS connections to KMS (default ${DEFAULT-VALUE})")
  String kmsEgress;

  @Option(
      names = "--kms-key-arn",
      description = "pin the KMS key(s) the key set may be sealed under (repeatable)")
  List<String> kmsKeyArns;

  @Option(names = "--workers", description = "fan-out threads (default: the number of cores)")
  Integer workers;

  @Option(
      names = "--image-approver",
      description =
          "an Ed25519 public key (base64url or hex, raw 32 bytes) that may approve a successor image"
              + " (repeatable; part of the measured command line; kms-sealing.md section 7)")
  List<String> imageApprovers;

  @Option(
      names = "--image-approval-quorum",
      description = "how many --image-approver keys must sign an image approval (default 1)")
  Integer imageApprovalQuorum;

  /** Where the HTTP API listens. */
  public String listen() {
    return listen;
  }

  /** Where the host pipes KMS connections. */
  public String kmsEgress() {
    return kmsEgress;
  }

  /** The pinned KMS key ARNs, empty when none is pinned. */
  public Set<String> kmsKeyArns() {
    return kmsKeyArns == null ? Set.of() : Set.copyOf(kmsKeyArns);
  }

  /**
   * The keys that may approve a successor image, and their quorum ({@link ImageApprovers#NONE}
   * when none is given: such an image never re-wraps its key set).
   *
   * @throws CommandLine.ParameterException for a malformed key or quorum
   */
  public ImageApprovers imageApprovers(CommandLine cmd) {
    try {
      return ImageApprovers.parse(
          imageApprovers == null ? List.of() : imageApprovers, imageApprovalQuorum);
    } catch (MalformedInputException e) {
      throw new CommandLine.ParameterException(cmd, "--image-approver: " + e.getMessage());
    }
  }

  /** Fan-out threads: the option, else the number of cores. */
  public int workers() {
    return workers != null ? workers : Runtime.getRuntime().availableProcessors();
  }
}
