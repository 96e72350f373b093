package dev.keycast.cli;

import java.nio.file.Path;
import picocli.CommandLine.Option;

/**
 * How to reach the host proxy's admin listener: {@code --admin}, {@code --ca-cert}, {@code
 * --timeout}. A picocli mixin for the operator's commands ({@code keycast kdm signer-csr}, {@code
 * signer-import}); the admin listener is the operator's, never a sender's.
 */
final class AdminOptions {
  @Option(
      names = "--admin",
      required = true,
      paramLabel = "URL",
      order = -20,
      description =
          "The host proxy's admin listener, e.g. http://127.0.0.1:8444 (the host's --admin address).")
  String admin;

  @Option(
      names = "--ca-cert",
      paramLabel = "PEM",
      order = 90,
      description =
          "Trust only this CA certificate (PEM) for the admin listener's HTTPS certificate.")
  Path caCert;

  @Option(
      names = "--timeout",
      paramLabel = "DURATION",
      defaultValue = "5m",
      order = 91,
      description =
          "Give up on one HTTP request after this long: 30s, 5m, 1h or PT5M. Default: ${DEFAULT-VALUE}.")
  String timeout;

  /** A client for the admin listener (the same checks as {@code --host}). */
  HostClient client() throws CliException {
    HostOptions h = new HostOptions();
    h.host = admin;
    h.caCert = caCert;
    h.timeout = timeout;
    try {
      return h.client();
    } catch (CliException e) {
      throw new CliException(e.exitCode(), e.getMessage().replace("--host", "--admin"));
    }
  }
}
