package dev.keycast.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code keycast image}: approve a successor enclave image, or check an approval (kms-sealing.md section 7). */
@Command(
    name = "image",
    mixinStandardHelpOptions = true,
    versionProvider = KeycastCli.Version.class,
    description =
        "Approve a successor enclave image and its new locked KMS key, or check such an approval.",
    subcommands = {ImageApproveCommand.class, ImageVerifyCommand.class},
    footer = ExitCodes.HELP)
final class ImageCommand implements java.util.concurrent.Callable<Integer> {
  @Spec CommandSpec spec;

  @Override
  public Integer call() {
    spec.commandLine()
        .getErr()
        .println(spec.qualifiedName() + ": missing subcommand (try: approve, verify)");
    return ExitCodes.USAGE;
  }
}
