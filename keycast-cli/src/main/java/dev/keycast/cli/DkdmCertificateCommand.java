package dev.keycast.cli;

import dev.keycast.protocol.cinema.CinemaException;
import dev.keycast.protocol.cinema.DcCertificates;
import dev.keycast.protocol.cinema.DcPem;
import dev.keycast.protocol.keyset.KdmSignerKeys;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code keycast dkdm certificate}: the enclave's DKDM recipient certificate (wire-format.md
 * section 10.1), the equivalent of {@code dcpomatic2_kdm_cli dump-decryption-certificate}. It is
 * the leaf of the attested KDM signer chain, whose private key lives only in the sealed key set;
 * it is written only after the attestation verifies under the caller's pins.
 */
@Command(
    name = "certificate",
    mixinStandardHelpOptions = true,
    versionProvider = KeycastCli.Version.class,
    sortOptions = false,
    description = {
      "Fetch the enclave's attestation over a fresh nonce, verify it as 'keycast attest' does, and write"
          + " the certificate mastering houses address DKDMs to (the leaf of the attested KDM signer chain;"
          + " with --chain the whole chain, leaf first) to --out as PEM.",
      "Exits 0 only when the attestation verifies and the bundle carries a valid signer chain."
    },
    footer = ExitCodes.HELP)
final class DkdmCertificateCommand extends KeycastCommand {
  @Mixin HostOptions hostOptions;
  @Mixin AttestationOptions attestationOptions;

  @Option(
      names = "--out",
      required = true,
      paramLabel = "FILE",
      description = "Where to write the certificate (PEM; replaced if it exists).")
  Path out;

  @Option(names = "--chain", description = "Write the whole chain, leaf first, not only the leaf.")
  boolean wholeChain;

  /** The JSON output. */
  record Result(
      boolean verified,
      String keySetId,
      String out,
      String subject,
      String issuer,
      String serialNumber,
      Instant notBefore,
      Instant notAfter,
      String thumbprint,
      int certificates,
      List<String> warnings) {}

  @Override
  int run() throws CliException, HostException {
    EnclaveIdentity id =
        EnclaveIdentity.verifyEnclave(
            hostOptions.client(), attestationOptions.pins(), new SecureRandom());
    List<byte[]> der = id.bundle().kdmSignerChain();
    if (der.isEmpty()) {
      throw CliException.verification(
          "the enclave's attested key bundle carries no KDM signer chain, so it has no"
              + " DKDM recipient certificate: upgrade the enclave and restart its host");
    }
    X509Certificate leaf;
    String thumbprint;
    try {
      leaf = KdmSignerKeys.validateChain(der).get(0);
      thumbprint = DcCertificates.thumbprintBase64(leaf);
    } catch (CinemaException e) {
      throw CliException.verification(
          "the attested KDM signer chain is not an ST 430-2 chain ("
              + e.code()
              + ": "
              + e.getMessage()
              + ")");
    }
    List<byte[]> written = wholeChain ? der : List.of(der.get(0));
    CliFiles.write(
        out, DcPem.certificates(written).getBytes(StandardCharsets.US_ASCII), false, true);
    List<String> warnings = new ArrayList<>(id.warnings());
    Instant now = Instant.now();
    if (now.isAfter(leaf.getNotAfter().toInstant())
        || now.isBefore(leaf.getNotBefore().toInstant())) {
      warnings.add(
          "the certificate is not valid now ("
              + leaf.getNotBefore().toInstant()
              + " to "
              + leaf.getNotAfter().toInstant()
              + "): DKDMs addressed to it cannot be ingested");
    }
    warnings.add(
        "a DKDM names this certificate's issuer and serial: after 'keycast kdm signer-import' it changes,"
            + " and DKDMs must be addressed to the new one");
    String subject = DcCertificates.rfc2253(leaf.getSubjectX500Principal());
    String issuer = DcCertificates.rfc2253(leaf.getIssuerX500Principal());
    if (json) {
      printJson(
          new Result(
              true,
              id.bundle().keySetId(),
              out.toString(),
              subject,
              issuer,
              leaf.getSerialNumber().toString(),
              leaf.getNotBefore().toInstant(),
              leaf.getNotAfter().toInstant(),
              thumbprint,
              written.size(),
              warnings));
      return ExitCodes.OK;
    }
    var o = out();
    o.println("enclave:     verified (root " + id.attestation().trustRoot().name() + ")");
    o.println("key set:     " + id.bundle().keySetId());
    o.println("certificate: " + subject);
    o.println("  issuer     " + issuer + ", serial " + leaf.getSerialNumber());
    o.println(
        "  valid      "
            + leaf.getNotBefore().toInstant()
            + " to "
            + leaf.getNotAfter().toInstant()
            + ", thumbprint "
            + thumbprint);
    o.println(
        "written:     "
            + out
            + " ("
            + written.size()
            + " certificate"
            + (written.size() == 1 ? "" : "s")
            + ", PEM)");
    for (String w : warnings) {
      o.println("NOTE: " + w);
    }
    return ExitCodes.OK;
  }
}
