package dev.keycast.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code keycast rules}: a studio's signed rules for the KDMs made from its DKDMs (issue 25). */
@Command(
    name = "rules",
    mixinStandardHelpOptions = true,
    versionProvider = KeycastCli.Version.class,
    description =
        "A studio's rules for a CPL: which screens, which windows, how many (wire-format.md section 11).",
    subcommands = {RulesSendCommand.class},
    footer = ExitCodes.HELP)
final class RulesCommand implements java.util.concurrent.Callable<Integer> {
  @Spec CommandSpec spec;

  @Override
  public Integer call() {
    spec.commandLine().getErr().println(spec.qualifiedName() + ": missing subcommand (try: send)");
    return ExitCodes.USAGE;
  }
}
