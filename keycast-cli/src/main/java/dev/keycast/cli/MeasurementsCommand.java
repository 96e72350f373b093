package dev.keycast.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code keycast measurements}: print or compare expected PCRs. */
@Command(
    name = "measurements",
    mixinStandardHelpOptions = true,
    versionProvider = KeycastCli.Version.class,
    description = "Print an expected-PCRs file, or compare it with an attestation document.",
    subcommands = {MeasurementsShowCommand.class, MeasurementsCompareCommand.class},
    footer = ExitCodes.HELP)
final class MeasurementsCommand implements java.util.concurrent.Callable<Integer> {
  @Spec CommandSpec spec;

  @Override
  public Integer call() {
    spec.commandLine()
        .getErr()
        .println(spec.qualifiedName() + ": missing subcommand (try: show, compare)");
    return ExitCodes.USAGE;
  }
}
