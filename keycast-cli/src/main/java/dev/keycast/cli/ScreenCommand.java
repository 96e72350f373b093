package dev.keycast.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code keycast screen}: cinema screens (KDM recipients, issue 24). */
@Command(
    name = "screen",
    mixinStandardHelpOptions = true,
    versionProvider = KeycastCli.Version.class,
    description =
        "Register the cinema screens KDM sends may select (their ST 430-2 certificate chains).",
    subcommands = {ScreenRegisterCommand.class},
    footer = ExitCodes.HELP)
final class ScreenCommand implements java.util.concurrent.Callable<Integer> {
  @Spec CommandSpec spec;

  @Override
  public Integer call() {
    spec.commandLine()
        .getErr()
        .println(spec.qualifiedName() + ": missing subcommand (try: register)");
    return ExitCodes.USAGE;
  }
}
