package dev.keycast.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code keycast sender}: sender and owner keys and the key set's sender set (issue 23). */
@Command(
    name = "sender",
    mixinStandardHelpOptions = true,
    versionProvider = KeycastCli.Version.class,
    description =
        "Create a sender (or owner) key pair, show the enclave's sender set, add or remove a"
            + " sender with an owner key.",
    subcommands = {
      SenderKeygenCommand.class,
      SenderShowCommand.class,
      SenderChangeCommand.Add.class,
      SenderChangeCommand.Remove.class
    },
    footer = ExitCodes.HELP)
final class SenderCommand implements java.util.concurrent.Callable<Integer> {
  @Spec CommandSpec spec;

  @Override
  public Integer call() {
    CommandLine cl = spec.commandLine();
    cl.getErr()
        .println(spec.qualifiedName() + ": missing subcommand (try: keygen, show, add, remove)");
    return ExitCodes.USAGE;
  }
}
