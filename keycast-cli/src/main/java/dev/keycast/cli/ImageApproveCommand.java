package dev.keycast.cli;

import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.upgrade.ImageApproval;
import java.nio.file.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code keycast image approve}: signs the image approval statement for a successor deployment
 * file (its one image and its new locked KMS key) and a key set, or adds a signature to an
 * approval (kms-sealing.md section 7).
 */
@Command(
    name = "approve",
    mixinStandardHelpOptions = true,
    versionProvider = KeycastCli.Version.class,
    sortOptions = false,
    description =
        "Sign an image approval: the running enclave (--predecessor) may re-wrap key set --key-set-id"
            + " under the successor deployment file's KMS key for the successor's image (PCR0, and PCR3/PCR8 when"
            + " the file pins them). With --add-to, adds this approver's signature to an existing approval"
            + " (a quorum); the statement must then be the same.",
    footer = ExitCodes.HELP)
final class ImageApproveCommand extends KeycastCommand {
  @Option(
      names = "--successor",
      required = true,
      paramLabel = "FILE",
      description =
          "The successor's deployment file: measurements JSON with one allowed set and \"kms_key_arn\".")
  Path successor;

  @Option(
      names = "--predecessor",
      required = true,
      paramLabel = "FILE",
      description =
          "The running image's deployment file (its PCR0 re-wraps; it may GenerateDataKey under the new key, never Decrypt).")
  Path predecessor;

  @Option(
      names = "--key-set-id",
      required = true,
      paramLabel = "ID",
      description =
          "The key set to re-wrap (key_bundle.key_set_id of the running enclave's attestation).")
  String keySetId;

  @Option(
      names = "--signing-key",
      required = true,
      paramLabel = "PEM",
      description = "This approver's Ed25519 private key (openssl genpkey -algorithm ed25519).")
  Path signingKey;

  @Option(
      names = "--add-to",
      paramLabel = "FILE",
      description = "An approval to add this signature to.")
  Path addTo;

  @Option(
      names = "--out",
      required = true,
      paramLabel = "FILE",
      description = "Where to write the approval (JSON).")
  Path out;

  @Option(names = "--force", description = "Replace --out if it exists.")
  boolean force;

  record Result(String approval, String approver, int signatures, String statement) {}

  @Override
  int run() throws CliException {
    ImageApprovals.Deployment next = ImageApprovals.deployment(successor, "--successor");
    ImageApprovals.Deployment prev = ImageApprovals.deployment(predecessor, "--predecessor");
    if (next.kmsKeyArn().isEmpty()) {
      throw CliException.usage(
          "--successor "
              + successor
              + " names no \"kms_key_arn\": the new locked key must be in the deployment file");
    }
    if (next.kmsKeyArn().equals(prev.kmsKeyArn())) {
      throw CliException.usage(
          "--successor names the same KMS key as --predecessor: a locked key admits one image set; create a new key");
    }
    ImageApproval.Statement statement;
    try {
      statement =
          new ImageApproval.Statement(
              keySetId, next.kmsKeyArn().get(), next.pcr0(), next.pcr3(), next.pcr8(), prev.pcr0());
    } catch (IllegalArgumentException e) {
      throw CliException.usage(e.getMessage());
    }
    ImageApproval approval = new ImageApproval(statement, java.util.List.of());
    if (addTo != null) {
      approval = ImageApprovals.read(addTo, "--add-to");
      if (!approval.statement().equals(statement)) {
        throw CliException.usage(
            "--add-to "
                + addTo
                + " approves another statement than these deployment files and key set");
      }
    }
    byte[] seed = ImageApprovals.approverSeed(signingKey, "--signing-key");
    ImageApproval.Signature signature;
    try {
      signature = ImageApprovals.sign(statement, seed);
    } finally {
      java.util.Arrays.fill(seed, (byte) 0);
    }
    for (ImageApproval.Signature s : approval.signatures()) {
      if (java.util.Arrays.equals(s.approver(), signature.approver())) {
        throw CliException.usage("this approver has already signed " + addTo);
      }
    }
    try {
      approval = approval.withSignature(signature);
    } catch (IllegalArgumentException e) {
      throw CliException.usage(e.getMessage());
    }
    CliFiles.write(out, approval.encode(), false, force);
    String approver = Base64Url.encode(signature.approver());
    if (json) {
      printJson(
          new Result(
              out.toString(),
              approver,
              approval.signatures().size(),
              new String(statement.encode(), java.nio.charset.StandardCharsets.US_ASCII)));
    } else {
      out().print(new String(statement.encode(), java.nio.charset.StandardCharsets.US_ASCII));
      out()
          .println(
              "signed by approver "
                  + approver
                  + " ("
                  + approval.signatures().size()
                  + " signature(s)); written to "
                  + out);
    }
    return ExitCodes.OK;
  }
}
