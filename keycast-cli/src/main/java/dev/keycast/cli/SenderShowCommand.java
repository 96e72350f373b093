package dev.keycast.cli;

import dev.keycast.protocol.sender.SenderKey;
import dev.keycast.protocol.sender.SenderSet;
import java.security.SecureRandom;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code keycast sender show}: the sender set the enclave attests. */
@Command(
    name = "show",
    mixinStandardHelpOptions = true,
    versionProvider = KeycastCli.Version.class,
    description =
        "Verify the enclave's attestation, then show who may send through its key set: the"
            + " host's copy of the sender set, accepted only if its digest is the attested one.",
    footer = ExitCodes.HELP)
final class SenderShowCommand extends KeycastCommand {
  @Mixin HostOptions hostOptions;
  @Mixin AttestationOptions attestationOptions;

  record Result(
      String keySetId, long version, String sha256, List<String> owners, List<String> senders) {}

  @Override
  int run() throws CliException, HostException {
    HostClient host = hostOptions.client();
    EnclaveIdentity id =
        EnclaveIdentity.verifyEnclave(host, attestationOptions.pins(), new SecureRandom());
    SenderSet set = SenderSets.verified(host, id.bundle());
    List<String> owners = set.owners().stream().map(SenderKey::fingerprint).toList();
    List<String> senders = set.senders().stream().map(SenderKey::fingerprint).toList();
    String digest = java.util.HexFormat.of().formatHex(set.digest());
    if (json) {
      printJson(new Result(id.bundle().keySetId(), set.version(), digest, owners, senders));
      return ExitCodes.OK;
    }
    out().println("key set:      " + id.bundle().keySetId() + ", attestation verified");
    out().println("sender set:   version " + set.version() + ", sha256 " + digest + " (attested)");
    out().println("owners:       " + owners.size());
    owners.forEach(o -> out().println("  " + o));
    out().println("senders:      " + senders.size());
    senders.forEach(o -> out().println("  " + o));
    return ExitCodes.OK;
  }
}
