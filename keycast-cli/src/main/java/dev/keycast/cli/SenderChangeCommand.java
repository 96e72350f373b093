package dev.keycast.cli;

import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.sender.SenderKey;
import dev.keycast.protocol.sender.SenderSet;
import dev.keycast.protocol.sender.SenderSetUpdate;
import dev.keycast.protocol.sender.SenderSigningKey;
import java.nio.file.Path;
import java.security.SecureRandom;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code keycast sender add|remove}: verifies the enclave, takes the attested sender set, signs the
 * changed set (version + 1) with an owner key and posts the statement (wire-format.md 8.2).
 */
abstract class SenderChangeCommand extends KeycastCommand {
  @Mixin HostOptions hostOptions;
  @Mixin AttestationOptions attestationOptions;

  @Option(
      names = "--owner-key",
      required = true,
      paramLabel = "FILE",
      description = "The owner's PEM Ed25519 private key (keycast sender keygen).")
  Path ownerKey;

  @Option(
      names = "--sender",
      required = true,
      paramLabel = "PEM|FP",
      description = "The sender: its PEM public key file, or (remove) its fingerprint.")
  String sender;

  record Result(String keySetId, long version, String sha256, String changed, int senders) {}

  abstract SenderSet change(SenderSet current, SenderKey key);

  abstract String verb();

  @Override
  int run() throws CliException, HostException {
    HostClient host = hostOptions.client();
    try (SenderSigningKey owner = SenderSets.readPrivate(ownerKey, "--owner-key")) {
      EnclaveIdentity id =
          EnclaveIdentity.verifyEnclave(host, attestationOptions.pins(), new SecureRandom());
      SenderSet current = SenderSets.verified(host, id.bundle());
      if (!current.hasOwner(owner.publicKey())) {
        throw CliException.usage(
            "--owner-key: "
                + owner.publicKey().fingerprint()
                + " is not an owner of sender set version "
                + current.version());
      }
      SenderKey key = SenderSets.parseSender(sender, current, "--sender");
      SenderSet next;
      try {
        next = change(current, key);
      } catch (IllegalArgumentException e) {
        throw CliException.usage("--sender: " + e.getMessage());
      }
      EnclaveApi.SenderSetView v =
          host.updateSenders(SenderSetUpdate.sign(id.bundle().keySetId(), next, owner).toJson());
      if (v.version() != next.version()) {
        throw HostException.unreachable(
            "the host answered sender set version "
                + v.version()
                + ", not the signed version "
                + next.version());
      }
      String digest = java.util.HexFormat.of().formatHex(next.digest());
      if (json) {
        printJson(
            new Result(
                id.bundle().keySetId(),
                next.version(),
                digest,
                key.fingerprint(),
                next.senders().size()));
      } else {
        out().println(verb() + ":        " + key.fingerprint());
        out()
            .println(
                "sender set:   version "
                    + next.version()
                    + ", sha256 "
                    + digest
                    + ", "
                    + next.senders().size()
                    + " sender(s)");
      }
    }
    return ExitCodes.OK;
  }

  @Command(
      name = "add",
      mixinStandardHelpOptions = true,
      versionProvider = KeycastCli.Version.class,
      description = "Admit a sender: sign the attested sender set plus this key with an owner key.",
      footer = ExitCodes.HELP)
  static final class Add extends SenderChangeCommand {
    @Override
    SenderSet change(SenderSet current, SenderKey key) {
      return current.withSender(key);
    }

    @Override
    String verb() {
      return "added";
    }
  }

  @Command(
      name = "remove",
      mixinStandardHelpOptions = true,
      versionProvider = KeycastCli.Version.class,
      description =
          "Remove a sender: sign the attested sender set minus this key with an owner key.",
      footer = ExitCodes.HELP)
  static final class Remove extends SenderChangeCommand {
    @Override
    SenderSet change(SenderSet current, SenderKey key) {
      return current.withoutSender(key);
    }

    @Override
    String verb() {
      return "removed";
    }
  }
}
