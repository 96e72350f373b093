package dev.keycast.cli;

import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.api.HostApi;
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

/** {@code keycast recipient register}: POST /v1/recipients with a public key or certificate chain. */
@Command(
    name = "register",
    mixinStandardHelpOptions = true,
    versionProvider = KeycastCli.Version.class,
    sortOptions = false,
    description = {
      "Register a recipient's public key (PEM PUBLIC KEY) or certificate chain (PEM, leaf first) with"
          + " the host. Secrets sent earlier to policies that admit late recipients are delivered"
          + " before the host answers. Labels are for people only: they never decide eligibility."
    },
    footer = ExitCodes.HELP)
final class RecipientRegisterCommand extends KeycastCommand {
  @Mixin HostOptions hostOptions;

  @Option(names = "--key", required = true, paramLabel = "PEM",
      description = "The public key (NAME.pub.pem from 'keycast recipient keygen') or a certificate chain, PEM.")
  Path key;

  @Option(names = "--label", paramLabel = "K=V", description = "A label, e.g. --label site=paris. Repeatable.")
  List<String> labels = new ArrayList<>();

  @Override
  int run() throws CliException, HostException {
    HostClient host = hostOptions.client();
    byte[] bytes = CliFiles.read(key, "--key", RecipientKeys.MAX_INPUT_LENGTH);
    RecipientKey parsed;
    try {
      parsed = RecipientKeys.parse(bytes);
    } catch (MalformedInputException e) {
      throw CliException.usage("--key " + key + ": " + e.getMessage()
          + " (pass a PEM PUBLIC KEY or certificate chain, not a private key)");
    }
    Map<String, String> map = new LinkedHashMap<>();
    for (String l : labels) {
      int eq = l.indexOf('=');
      if (eq <= 0) {
        throw CliException.usage("--label: \"" + l + "\" is not key=value");
      }
      map.put(l.substring(0, eq), l.substring(eq + 1));
    }
    HostApi.Recipient r = host.register(new HostApi.RegisterRecipient(new String(bytes, StandardCharsets.US_ASCII), map));
    if (!parsed.fingerprint().equals(r.fingerprint())) {
      throw CliException.verification("the host registered fingerprint " + r.fingerprint()
          + " but the key's fingerprint is " + parsed.fingerprint());
    }
    if (json) {
      printJson(r);
    } else {
      RecipientShowCommand.print(out(), r);
    }
    return ExitCodes.OK;
  }
}
