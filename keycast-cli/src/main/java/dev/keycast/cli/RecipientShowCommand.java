package dev.keycast.cli;

import dev.keycast.protocol.Fingerprints;
import dev.keycast.protocol.api.HostApi;
import java.io.PrintWriter;
import java.util.Locale;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code keycast recipient show}: GET /v1/recipients/{fingerprint}. */
@Command(
    name = "show",
    mixinStandardHelpOptions = true,
    versionProvider = KeycastCli.Version.class,
    sortOptions = false,
    description = "Show a registered recipient: key kind, labels, registration time.",
    footer = ExitCodes.HELP)
final class RecipientShowCommand extends KeycastCommand {
  @Mixin HostOptions hostOptions;

  @Option(names = "--fingerprint", required = true, paramLabel = "FP",
      description = "The recipient key's fingerprint (64 hex).")
  String fingerprint;

  @Override
  int run() throws CliException, HostException {
    String fp = fingerprint.strip().toLowerCase(Locale.ROOT);
    if (!Fingerprints.isWellFormed(fp)) {
      throw CliException.usage("--fingerprint: \"" + fingerprint + "\" is not 64 hex characters");
    }
    HostApi.Recipient r = hostOptions.client().recipient(fp);
    if (json) {
      printJson(r);
    } else {
      print(out(), r);
    }
    return ExitCodes.OK;
  }

  static void print(PrintWriter out, HostApi.Recipient r) {
    out.println("fingerprint:      " + r.fingerprint());
    out.println("kind:             " + r.kind());
    out.println("registered at:    " + r.registeredAt());
    out.println("late deliveries:  " + r.lateDeliveries());
    if (r.labels() != null) {
      r.labels().forEach((k, v) -> out.println("label:            " + k + "=" + v));
    }
  }
}
