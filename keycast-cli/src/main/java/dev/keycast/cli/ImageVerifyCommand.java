package dev.keycast.cli;

import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.upgrade.ImageApproval;
import dev.keycast.protocol.upgrade.ImageApprovalException;
import dev.keycast.protocol.upgrade.ImageApprovers;
import java.nio.file.Path;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code keycast image verify}: what a studio runs before it moves its pins to a successor
 * deployment file: the approval is signed by a quorum of the approvers the studio pinned, and
 * names exactly that file's image and KMS key (kms-sealing.md section 7).
 */
@Command(
    name = "verify",
    mixinStandardHelpOptions = true,
    versionProvider = KeycastCli.Version.class,
    sortOptions = false,
    description =
        "Check an image approval against the approvers you pinned and the successor deployment"
            + " file you are asked to pin: exit 0 only when a quorum signed it and it names that file's image"
            + " (PCR0, PCR3, PCR8) and KMS key.",
    footer = ExitCodes.HELP)
final class ImageVerifyCommand extends KeycastCommand {
  @Option(
      names = "--approval",
      required = true,
      paramLabel = "FILE",
      description = "The image approval (JSON).")
  Path approvalFile;

  @Option(
      names = "--successor",
      required = true,
      paramLabel = "FILE",
      description = "The successor deployment file.")
  Path successor;

  @Option(
      names = "--approver",
      required = true,
      paramLabel = "KEY",
      description =
          "An approver public key you trust (base64url or hex, raw 32-byte Ed25519; repeatable).")
  List<String> approvers;

  @Option(
      names = "--quorum",
      paramLabel = "N",
      description = "How many of --approver must have signed (default 1).")
  Integer quorum;

  @Option(names = "--key-set-id", paramLabel = "ID", description = "Also require this key set id.")
  String keySetId;

  record Result(
      boolean approved, String keySetId, String kmsKeyArn, String pcr0, String predecessorPcr0) {}

  @Override
  int run() throws CliException {
    ImageApproval approval = ImageApprovals.read(approvalFile, "--approval");
    ImageApprovals.Deployment next = ImageApprovals.deployment(successor, "--successor");
    ImageApprovers trusted;
    try {
      trusted = ImageApprovers.parse(approvers, quorum);
    } catch (MalformedInputException e) {
      throw CliException.usage("--approver: " + e.getMessage());
    }
    ImageApproval.Statement s;
    try {
      s = trusted.verify(approval);
    } catch (ImageApprovalException e) {
      throw CliException.verification(e.getMessage());
    }
    if (!s.pcr0().equals(next.pcr0())
        || !s.pcr3().equals(next.pcr3())
        || !s.pcr8().equals(next.pcr8())) {
      throw CliException.verification(
          "the approval names image PCR0 "
              + s.pcr0()
              + " (PCR3 "
              + s.pcr3().orElse("-")
              + ", PCR8 "
              + s.pcr8().orElse("-")
              + "), not the image of "
              + successor);
    }
    if (next.kmsKeyArn().isEmpty() || !s.kmsKeyArn().equals(next.kmsKeyArn().get())) {
      throw CliException.verification(
          "the approval names KMS key "
              + s.kmsKeyArn()
              + ", "
              + successor
              + " pins "
              + next.kmsKeyArn().orElse("none"));
    }
    if (keySetId != null && !keySetId.equals(s.keySetId())) {
      throw CliException.verification(
          "the approval is for key set " + s.keySetId() + ", not " + keySetId);
    }
    if (json) {
      printJson(new Result(true, s.keySetId(), s.kmsKeyArn(), s.pcr0(), s.predecessorPcr0()));
    } else {
      out()
          .println(
              "approved: key set "
                  + s.keySetId()
                  + " may move to image "
                  + s.pcr0()
                  + " under KMS key "
                  + s.kmsKeyArn()
                  + " (re-wrapped by image "
                  + s.predecessorPcr0()
                  + ")");
    }
    return ExitCodes.OK;
  }
}
