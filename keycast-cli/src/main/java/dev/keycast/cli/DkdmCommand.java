package dev.keycast.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code keycast dkdm}: distribution KDMs into the enclave (issue 25). */
@Command(
    name = "dkdm",
    mixinStandardHelpOptions = true,
    versionProvider = KeycastCli.Version.class,
    description =
        "Distribution KDMs (DKDMs): the certificate mastering houses address them to, and their ingest.",
    subcommands = {
      DkdmCertificateCommand.class,
      DkdmIngestCommand.class,
      DkdmImportKeyCommand.class
    },
    footer = ExitCodes.HELP)
final class DkdmCommand implements java.util.concurrent.Callable<Integer> {
  @Spec CommandSpec spec;

  @Override
  public Integer call() {
    spec.commandLine()
        .getErr()
        .println(
            spec.qualifiedName() + ": missing subcommand (try: certificate, ingest, import-key)");
    return ExitCodes.USAGE;
  }
}
