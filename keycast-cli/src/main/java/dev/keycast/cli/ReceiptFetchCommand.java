package dev.keycast.cli;

import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.api.HostApi;
import dev.keycast.protocol.receipt.ReceiptSigner;
import dev.keycast.protocol.sender.SenderSigningKey;
import java.nio.file.Path;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code keycast receipt fetch}: GET /v1/receipts/{id} and save the COSE_Sign1 bytes. The host
 * answers a receipt to its sender (a request signed with {@code --sender-key}) or to a recipient
 * it names (a session made with {@code --key}), api.md 2.2.
 */
@Command(
    name = "fetch",
    mixinStandardHelpOptions = true,
    versionProvider = KeycastCli.Version.class,
    sortOptions = false,
    description =
        "Download a receipt (a send's receipt id is its send id) and save the raw COSE_Sign1;"
            + " check it with 'keycast receipt verify'.",
    footer = ExitCodes.HELP)
final class ReceiptFetchCommand extends KeycastCommand {
  @Mixin HostOptions hostOptions;

  @Option(names = "--id", required = true, paramLabel = "ID", description = "The receipt id.")
  String id;

  @Option(
      names = "--out",
      required = true,
      paramLabel = "FILE",
      description = "Where to save the receipt.")
  Path outFile;

  @ArgGroup(exclusive = true, multiplicity = "1")
  Who who;

  /** Who asks: the sender of the send, or a recipient the receipt names. */
  static final class Who {
    @Option(
        names = "--sender-key",
        required = true,
        paramLabel = "FILE",
        description =
            "The sender key that signed the send (PEM Ed25519, from 'keycast sender keygen').")
    Path senderKey;

    @Option(
        names = "--key",
        required = true,
        paramLabel = "PEM",
        description =
            "A recipient's private key (PKCS#8 PEM) the receipt names: delivered to, or skipped.")
    Path recipientKey;
  }

  record Result(String receiptId, String sendId, String file, int bytes) {}

  @Override
  int run() throws CliException, HostException {
    if (!id.matches("[A-Za-z0-9._:-]{1,128}")) {
      throw CliException.usage(
          "--id: \""
              + (id.length() > 40 ? id.substring(0, 40) + "..." : id)
              + "\" is not a receipt id (1..128 characters of [A-Za-z0-9._:-]; a send's receipt id is its send id)");
    }
    HostClient host = hostOptions.client();
    HostApi.ReceiptView v;
    if (who.senderKey != null) {
      try (SenderSigningKey key = SenderSets.readPrivate(who.senderKey, "--sender-key")) {
        v = host.receipt(id, key);
      }
    } else {
      try (RecipientPrivateKey pk = RecipientPrivateKey.load(who.recipientKey, "--key")) {
        v = host.receipt(id, host.session(pk));
      }
    }
    byte[] cose;
    try {
      cose = Base64Url.decode("receipt", v.receipt(), ReceiptSigner.MAX_ENCODED);
    } catch (MalformedInputException e) {
      throw HostException.unreachable(
          "the host's receipt view is not base64url: " + e.getMessage());
    }
    CliFiles.write(outFile, cose, false, true);
    if (json) {
      printJson(new Result(v.receiptId(), v.sendId(), outFile.toString(), cose.length));
    } else {
      out()
          .println(
              "receipt:      "
                  + v.receiptId()
                  + " (send "
                  + v.sendId()
                  + "), "
                  + cose.length
                  + " bytes");
      out()
          .println(
              "saved to:     "
                  + outFile
                  + " (not yet verified: run keycast receipt verify --receipt "
                  + outFile
                  + " --bundle BUNDLE)");
    }
    return ExitCodes.OK;
  }
}
