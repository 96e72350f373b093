package dev.keycast.cli;

import dev.keycast.protocol.cinema.CinemaException;
import dev.keycast.protocol.cinema.DcCertificates;
import dev.keycast.protocol.keyset.KdmSignerKeys;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code keycast kdm signer}: the enclave's KDM signer chain, as the enclave attested it. What a
 * distributor hands to the cinemas (or their TMS/SMS) that must trust the KDMs Keycast issues: the
 * chain is taken from the attested key bundle only after the attestation verified under the
 * caller's pins, and written as PEM, leaf first.
 */
@Command(
    name = "signer",
    mixinStandardHelpOptions = true,
    versionProvider = KeycastCli.Version.class,
    sortOptions = false,
    description = {
      "Fetch the enclave's attestation over a fresh nonce, verify it as 'keycast attest' does (the"
          + " --expect-pcrs measurements or deployment file, the KMS key pin, the trust root), and"
          + " write the KDM signer chain the attested key bundle names (SMPTE ST 430-2, the chain"
          + " that signs every KDM this enclave issues) to --out as PEM, leaf first.",
      "Exits 0 only when the attestation verifies and the bundle carries a valid signer chain."
    },
    footer = ExitCodes.HELP)
final class KdmSignerCommand extends KeycastCommand {
  @Mixin HostOptions hostOptions;
  @Mixin AttestationOptions attestationOptions;

  @Option(
      names = "--out",
      required = true,
      paramLabel = "FILE",
      description =
          "Where to write the signer chain (PEM certificates, leaf first; replaced if it exists).")
  Path out;

  /** One certificate of the chain as printed. */
  record Certificate(
      String subject, String issuer, Instant notBefore, Instant notAfter, String thumbprint) {}

  /** The JSON output. */
  record Result(
      boolean verified,
      String keySetId,
      String kmsKeyId,
      String out,
      List<Certificate> chain,
      List<String> warnings) {}

  @Override
  int run() throws CliException, HostException {
    EnclaveIdentity id =
        EnclaveIdentity.verifyEnclave(
            hostOptions.client(), attestationOptions.pins(), new SecureRandom());
    List<byte[]> der = id.bundle().kdmSignerChain();
    if (der.isEmpty()) {
      throw CliException.verification(
          "the enclave's attested key bundle carries no KDM signer chain (an enclave"
              + " image from before KDM signing, or a key set not yet migrated): upgrade the enclave and restart its host");
    }
    List<X509Certificate> chain;
    List<Certificate> shown = new ArrayList<>();
    try {
      // the bundle's parser checked it already; parsed again here for the names and dates shown
      chain = KdmSignerKeys.validateChain(der);
      for (X509Certificate c : chain) {
        shown.add(
            new Certificate(
                DcCertificates.rfc2253(c.getSubjectX500Principal()),
                DcCertificates.rfc2253(c.getIssuerX500Principal()),
                c.getNotBefore().toInstant(),
                c.getNotAfter().toInstant(),
                DcCertificates.thumbprintBase64(c)));
      }
    } catch (CinemaException e) {
      throw CliException.verification(
          "the attested KDM signer chain is not an ST 430-2 signer chain ("
              + e.code()
              + ": "
              + e.getMessage()
              + ")");
    }
    StringBuilder pem = new StringBuilder();
    Base64.Encoder b64 = Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII));
    for (byte[] c : der) {
      pem.append("-----BEGIN CERTIFICATE-----\n")
          .append(b64.encodeToString(c))
          .append("\n-----END CERTIFICATE-----\n");
    }
    CliFiles.write(out, pem.toString().getBytes(StandardCharsets.US_ASCII), false, true);
    List<String> warnings = new ArrayList<>(id.warnings());
    Instant now = Instant.now();
    for (Certificate c : shown) {
      if (now.isAfter(c.notAfter()) || now.isBefore(c.notBefore())) {
        warnings.add(
            "the signer certificate "
                + c.subject()
                + " is not valid now ("
                + c.notBefore()
                + " to "
                + c.notAfter()
                + "): KDMs cannot be issued under it");
      }
    }
    if (json) {
      printJson(
          new Result(
              true,
              id.bundle().keySetId(),
              id.bundle().kmsKeyId(),
              out.toString(),
              shown,
              warnings));
      return ExitCodes.OK;
    }
    var o = out();
    o.println("enclave:      verified (root " + id.attestation().trustRoot().name() + ")");
    o.println("key set:      " + id.bundle().keySetId());
    o.println("kms key:      " + id.bundle().kmsKeyId() + " (as pinned)");
    o.println(
        "signer chain: " + shown.size() + " certificates written to " + out + " (PEM, leaf first)");
    for (int i = 0; i < shown.size(); i++) {
      Certificate c = shown.get(i);
      o.println(
          "  " + (i == 0 ? "leaf" : i == shown.size() - 1 ? "root" : "ca  ") + "  " + c.subject());
      o.println(
          "        valid "
              + c.notBefore()
              + " to "
              + c.notAfter()
              + ", thumbprint "
              + c.thumbprint());
    }
    for (String w : warnings) {
      o.println("WARNING: " + w);
    }
    return ExitCodes.OK;
  }
}
