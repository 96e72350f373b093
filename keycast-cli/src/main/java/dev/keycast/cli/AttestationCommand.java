package dev.keycast.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code keycast attestation}: the group of attestation-document commands. */
@Command(
    name = "attestation",
    mixinStandardHelpOptions = true,
    versionProvider = KeycastCli.Version.class,
    description = "Inspect and verify AWS Nitro Enclaves attestation documents.",
    subcommands = {AttestationVerifyCommand.class},
    footer = ExitCodes.HELP)
public final class AttestationCommand implements java.util.concurrent.Callable<Integer> {
  @Spec CommandSpec spec;

  @Override
  public Integer call() {
    CommandLine cl = spec.commandLine();
    cl.getErr().println(cl.getCommandSpec().qualifiedName() + ": missing subcommand (try: verify)");
    return ExitCodes.USAGE;
  }
}
