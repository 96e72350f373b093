package dev.keycast.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code keycast kdm}: SMPTE KDMs (ST 430-1). */
@Command(
    name = "kdm",
    mixinStandardHelpOptions = true,
    versionProvider = KeycastCli.Version.class,
    description = "Work with SMPTE ST 430-1 KDMs (Key Delivery Messages) for cinema screens.",
    subcommands = {
      KdmSendCommand.class,
      KdmBookCommand.class,
      KdmFetchCommand.class,
      KdmMailCommand.class,
      KdmSignerCommand.class,
      KdmSignerCsrCommand.class,
      KdmSignerImportCommand.class,
      KdmVerifyCommand.class
    },
    footer = ExitCodes.HELP)
final class KdmCommand implements java.util.concurrent.Callable<Integer> {
  @Spec CommandSpec spec;

  @Override
  public Integer call() {
    spec.commandLine()
        .getErr()
        .println(
            spec.qualifiedName()
                + ": missing subcommand (try: send, book, fetch, mail, signer, signer-csr, signer-import, verify)");
    return ExitCodes.USAGE;
  }
}
