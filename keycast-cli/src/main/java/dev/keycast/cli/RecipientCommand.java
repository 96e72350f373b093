package dev.keycast.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code keycast recipient}: recipient key pairs and registration. */
@Command(
    name = "recipient",
    mixinStandardHelpOptions = true,
    versionProvider = KeycastCli.Version.class,
    description =
        "Create a recipient key pair, register its public key with a host, look a recipient up.",
    subcommands = {
      RecipientKeygenCommand.class,
      RecipientRegisterCommand.class,
      RecipientShowCommand.class
    },
    footer = ExitCodes.HELP)
final class RecipientCommand implements java.util.concurrent.Callable<Integer> {
  @Spec CommandSpec spec;

  @Override
  public Integer call() {
    CommandLine cl = spec.commandLine();
    cl.getErr()
        .println(spec.qualifiedName() + ": missing subcommand (try: keygen, register, show)");
    return ExitCodes.USAGE;
  }
}
