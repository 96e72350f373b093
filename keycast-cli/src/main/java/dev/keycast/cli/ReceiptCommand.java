package dev.keycast.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code keycast receipt}: verify and fetch signed receipts. */
@Command(
    name = "receipt",
    mixinStandardHelpOptions = true,
    versionProvider = KeycastCli.Version.class,
    description = "Verify a signed receipt of a send, or fetch one from the host.",
    subcommands = {ReceiptVerifyCommand.class, ReceiptFetchCommand.class},
    footer = ExitCodes.HELP)
final class ReceiptCommand implements java.util.concurrent.Callable<Integer> {
  @Spec CommandSpec spec;

  @Override
  public Integer call() {
    spec.commandLine()
        .getErr()
        .println(spec.qualifiedName() + ": missing subcommand (try: verify, fetch)");
    return ExitCodes.USAGE;
  }
}
