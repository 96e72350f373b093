package dev.keycast.enclave;

import dev.keycast.enclave.kms.KmsConnector;
import java.util.List;
import java.util.Set;
import picocli.CommandLine.Option;

/**
 * The command-line options every enclave launcher has (a picocli mixin): the production {@link
 * EnclaveMain} and the dev-tier mock launcher.
 */
public final class ServerOptions {
  @Option(names = "--listen", required = true,
      description = "vsock://ANY:5000, unix:/path or tcp://host:port")
  String listen;

  @Option(names = "--kms-egress", defaultValue = KmsConnector.DEFAULT_EGRESS,
      description = "where the host pipes the enclave's TLS connections to KMS (default ${DEFAULT-VALUE})")
  String kmsEgress;

  @Option(names = "--kms-key-arn", description = "pin the KMS key(s) the key set may be sealed under (repeatable)")
  List<String> kmsKeyArns;

  @Option(names = "--workers", description = "fan-out threads (default: the number of cores)")
  Integer workers;

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

  /** Fan-out threads: the option, else the number of cores. */
  public int workers() {
    return workers != null ? workers : Runtime.getRuntime().availableProcessors();
  }
}
