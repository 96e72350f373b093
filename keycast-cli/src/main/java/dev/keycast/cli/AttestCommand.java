package dev.keycast.cli;

import dev.keycast.protocol.Fingerprints;
import dev.keycast.protocol.Json;
import dev.keycast.protocol.api.EnclaveApi;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code keycast attest}: fetch the enclave's attestation over a fresh nonce and verify it. */
@Command(
    name = "attest",
    mixinStandardHelpOptions = true,
    versionProvider = KeycastCli.Version.class,
    sortOptions = false,
    description = {
      "Ask the host for the enclave's attestation document over a fresh random nonce and verify it:"
          + " signature and chain to the AWS Nitro root (or a --trust-root), freshness, the nonce,"
          + " the expected PCRs, and that the document attests the key bundle the host returned"
          + " (public_key = receive key, user_data = SHA-256 of the bundle, which names the KMS key"
          + " protecting the key set), and that this KMS key is the published one (the deployment"
          + " file's kms_key_arn or --expect-kms-key: one is required).",
      "Prints the measurements, the key-set id and the KMS key. Exits 0 only when everything verifies."
    },
    footer = ExitCodes.HELP)
final class AttestCommand extends KeycastCommand {
  @Mixin HostOptions hostOptions;
  @Mixin AttestationOptions attestationOptions;

  @Option(
      names = "--out-document",
      paramLabel = "FILE",
      description = "Also save the raw attestation document (CBOR) here, for auditors.")
  Path outDocument;

  @Option(
      names = "--out-bundle",
      paramLabel = "FILE",
      description =
          "Also save the attested key bundle and its attestation document (JSON) here;"
              + " 'keycast receipt verify --bundle' and 'keycast fetch --bundle' read it and verify the document again.")
  Path outBundle;

  /** The JSON output. */
  record Result(
      boolean verified,
      String host,
      String keySetId,
      String kmsKeyId,
      String receiveKeyFingerprint,
      EnclaveApi.KeyBundle keyBundle,
      String moduleId,
      Instant timestamp,
      Map<String, String> pcrs,
      String trustRoot,
      String trustRootSha256,
      List<String> warnings,
      String attestationDocument) {}

  @Override
  int run() throws CliException, HostException {
    HostClient host = hostOptions.client();
    EnclaveIdentity id =
        EnclaveIdentity.verifyEnclave(host, attestationOptions.pins(), new SecureRandom());
    if (outDocument != null) {
      CliFiles.write(outDocument, id.document(), false, true);
    }
    if (outBundle != null) {
      CliFiles.write(outBundle, Json.encode(id.bundleFile()), false, true);
    }
    String receiveFp = Fingerprints.ofSpki(id.bundle().receivePublicKeySpki());
    var doc = id.attestation().document();
    if (json) {
      printJson(
          new Result(
              true,
              host.base().toString(),
              id.bundle().keySetId(),
              id.bundle().kmsKeyId(),
              receiveFp,
              id.bundleJson(),
              doc.moduleId(),
              doc.timestamp(),
              id.measurements(),
              id.attestation().trustRoot().name(),
              id.attestation().trustRoot().sha256(),
              id.warnings(),
              id.bundleFile().attestationDocument()));
      return ExitCodes.OK;
    }
    var out = out();
    out.println(
        "enclave:      verified (root "
            + id.attestation().trustRoot().name()
            + ", sha256 "
            + id.attestation().trustRoot().sha256()
            + ")");
    out.println("key set:      " + id.bundle().keySetId());
    out.println("kms key:      " + id.bundle().kmsKeyId() + " (as pinned)");
    out.println("receive key:  " + receiveFp + " (X25519, fingerprint)");
    out.println("signing key:  " + id.bundleJson().signingPublicKey() + " (Ed25519, base64url)");
    out.println("module:       " + doc.moduleId());
    out.println("timestamp:    " + doc.timestamp());
    id.measurements().forEach((k, v) -> out.printf("%-13s %s%n", k + ":", v));
    for (String w : id.warnings()) {
      out.println("WARNING: " + w);
    }
    return ExitCodes.OK;
  }
}
