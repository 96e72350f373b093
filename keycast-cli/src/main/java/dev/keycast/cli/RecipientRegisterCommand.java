package dev.keycast.cli;

import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.api.HostApi;
import dev.keycast.protocol.api.RecipientProof;
import dev.keycast.protocol.envelope.RecipientKey;
import dev.keycast.protocol.envelope.RecipientKeys;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code keycast recipient register}: proves possession of a private key (api.md section 2.2) and
 * POSTs /v1/recipients with its public key or certificate chain. Registering again replaces the
 * registration (chain, labels).
 */
@Command(
    name = "register",
    mixinStandardHelpOptions = true,
    versionProvider = KeycastCli.Version.class,
    sortOptions = false,
    description = {
      "Register your key with the host, proving you hold its private key (the host refuses anyone"
          + " else). Pass --chain to register a certificate chain for the key. Registering again"
          + " replaces your registration (chain, labels). Secrets sent earlier to policies that admit"
          + " late recipients are delivered before the host answers. Labels are for people only: they"
          + " never decide eligibility. The private key never leaves this machine."
    },
    footer = ExitCodes.HELP)
final class RecipientRegisterCommand extends KeycastCommand {
  @Mixin HostOptions hostOptions;

  @Option(
      names = "--key",
      required = true,
      paramLabel = "PEM",
      description = "Your private key (NAME.key.pem from 'keycast recipient keygen', PKCS#8 PEM).")
  Path key;

  @Option(
      names = "--chain",
      paramLabel = "PEM",
      description =
          "A certificate chain for the key, PEM, leaf first (registered instead of the bare key).")
  Path chain;

  @Option(
      names = "--label",
      paramLabel = "K=V",
      description = "A label, e.g. --label site=paris. Repeatable.")
  List<String> labels = new ArrayList<>();

  @Override
  int run() throws CliException, HostException {
    HostClient host = hostOptions.client();
    Map<String, String> map = new LinkedHashMap<>();
    for (String l : labels) {
      int eq = l.indexOf('=');
      if (eq <= 0) {
        throw CliException.usage("--label: \"" + l + "\" is not key=value");
      }
      map.put(l.substring(0, eq), l.substring(eq + 1));
    }
    try (RecipientPrivateKey pk = RecipientPrivateKey.load(key, "--key")) {
      String registered = pk.publicKeyPem();
      if (chain != null) {
        byte[] bytes = CliFiles.read(chain, "--chain", RecipientKeys.MAX_INPUT_LENGTH);
        RecipientKey parsed;
        try {
          parsed = RecipientKeys.parse(bytes);
        } catch (MalformedInputException e) {
          throw CliException.usage("--chain " + chain + ": " + e.getMessage());
        }
        if (!parsed.fingerprint().equals(pk.fingerprint())) {
          throw CliException.usage(
              "--chain "
                  + chain
                  + ": its leaf certifies key "
                  + parsed.fingerprint()
                  + ", not the --key's "
                  + pk.fingerprint());
        }
        registered = new String(bytes, StandardCharsets.US_ASCII);
      }
      RecipientProof.Challenge c = host.challenge(registered);
      HostApi.Recipient r =
          host.register(new HostApi.RegisterRecipient(registered, map, c.token(), pk.prove(c)));
      if (!pk.fingerprint().equals(r.fingerprint())) {
        throw CliException.verification(
            "the host registered fingerprint "
                + r.fingerprint()
                + " but the key's fingerprint is "
                + pk.fingerprint());
      }
      if (json) {
        printJson(r);
      } else {
        RecipientShowCommand.print(out(), r);
      }
    }
    return ExitCodes.OK;
  }
}
