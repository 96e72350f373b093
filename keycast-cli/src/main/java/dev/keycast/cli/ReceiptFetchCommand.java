package dev.keycast.cli;

import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.api.HostApi;
import dev.keycast.protocol.receipt.ReceiptSigner;
import java.nio.file.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code keycast receipt fetch}: GET /v1/receipts/{id} and save the COSE_Sign1 bytes. */
@Command(
    name = "fetch",
    mixinStandardHelpOptions = true,
    versionProvider = KeycastCli.Version.class,
    sortOptions = false,
    description = "Download a receipt (a send's receipt id is its send id) and save the raw COSE_Sign1;"
        + " check it with 'keycast receipt verify'.",
    footer = ExitCodes.HELP)
final class ReceiptFetchCommand extends KeycastCommand {
  @Mixin HostOptions hostOptions;

  @Option(names = "--id", required = true, paramLabel = "ID", description = "The receipt id.")
  String id;

  @Option(names = "--out", required = true, paramLabel = "FILE", description = "Where to save the receipt.")
  Path outFile;

  record Result(String receiptId, String sendId, String file, int bytes) {}

  @Override
  int run() throws CliException, HostException {
    if (!id.matches("[A-Za-z0-9._:-]{1,128}")) {
      throw CliException.usage("--id: \"" + (id.length() > 40 ? id.substring(0, 40) + "..." : id)
          + "\" is not a receipt id (1..128 characters of [A-Za-z0-9._:-]; a send's receipt id is its send id)");
    }
    HostApi.ReceiptView v = hostOptions.client().receipt(id);
    byte[] cose;
    try {
      cose = Base64Url.decode("receipt", v.receipt(), ReceiptSigner.MAX_ENCODED);
    } catch (MalformedInputException e) {
      throw HostException.unreachable("the host's receipt view is not base64url: " + e.getMessage());
    }
    CliFiles.write(outFile, cose, false, true);
    if (json) {
      printJson(new Result(v.receiptId(), v.sendId(), outFile.toString(), cose.length));
    } else {
      out().println("receipt:      " + v.receiptId() + " (send " + v.sendId() + "), " + cose.length + " bytes");
      out().println("saved to:     " + outFile + " (not yet verified: run keycast receipt verify --receipt "
          + outFile + " --bundle BUNDLE)");
    }
    return ExitCodes.OK;
  }
}
