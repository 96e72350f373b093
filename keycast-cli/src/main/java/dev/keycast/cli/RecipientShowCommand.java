package dev.keycast.cli;

import dev.keycast.protocol.Fingerprints;
import dev.keycast.protocol.api.HostApi;
import java.io.PrintWriter;
import java.util.Locale;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code keycast recipient show}: GET /v1/recipients/{fingerprint} with a session of the key. */
@Command(
    name = "show",
    mixinStandardHelpOptions = true,
    versionProvider = KeycastCli.Version.class,
    sortOptions = false,
    description =
        "Show your registration: key kind, labels, registration time (needs your private key: the"
            + " host shows a recipient only to its key's owner).",
    footer = ExitCodes.HELP)
final class RecipientShowCommand extends KeycastCommand {
  @Mixin HostOptions hostOptions;

  @Option(
      names = "--key",
      required = true,
      paramLabel = "PEM",
      description = "Your private key (NAME.key.pem, PKCS#8 PEM).")
  java.nio.file.Path key;

  @Option(
      names = "--fingerprint",
      paramLabel = "FP",
      description = "Also check that the key's fingerprint is this one (64 hex).")
  String fingerprint;

  @Override
  int run() throws CliException, HostException {
    HostApi.Recipient r;
    try (RecipientPrivateKey pk = RecipientPrivateKey.load(key, "--key")) {
      if (fingerprint != null) {
        String fp = fingerprint.strip().toLowerCase(Locale.ROOT);
        if (!Fingerprints.isWellFormed(fp)) {
          throw CliException.usage(
              "--fingerprint: \"" + fingerprint + "\" is not 64 hex characters");
        }
        if (!fp.equals(pk.fingerprint())) {
          throw CliException.usage(
              "--fingerprint " + fp + " is not the --key's fingerprint " + pk.fingerprint());
        }
      }
      HostClient host = hostOptions.client();
      r = host.recipient(pk.fingerprint(), host.session(pk));
    }
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
