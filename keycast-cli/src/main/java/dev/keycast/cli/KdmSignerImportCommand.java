package dev.keycast.cli;

import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.Json;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.cinema.CinemaException;
import dev.keycast.protocol.cinema.DcCertificates;
import dev.keycast.protocol.cinema.DcPem;
import dev.keycast.protocol.keyset.KdmSignerKeys;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code keycast kdm signer-import}: hands the signer chain the distributor's CA issued for the
 * enclave's CSR to the enclave through the host's admin listener (wire-format.md section 4.6). The
 * chain is checked here as an ST 430-2 signer chain first (to say early what to fix); the enclave
 * checks it again, and that it certifies its own key, before it signs with it.
 */
@Command(
    name = "signer-import",
    mixinStandardHelpOptions = true,
    versionProvider = KeycastCli.Version.class,
    sortOptions = false,
    description = {
      "Import the KDM signer chain the distributor's ST 430-2 CA issued for the enclave's request"
          + " ('keycast kdm signer-csr'): PEM certificates, leaf first, root last. The enclave refuses a chain"
          + " for another key or outside the signer profile; on success it signs every later KDM with it and"
          + " the host stores the re-sealed key set as its next version.",
      "Then publish the chain to cinemas from the attestation: 'keycast kdm signer --host ... --out FILE'."
    },
    footer = ExitCodes.HELP)
final class KdmSignerImportCommand extends KeycastCommand {
  @Mixin AdminOptions adminOptions;

  @Option(
      names = "--chain",
      required = true,
      paramLabel = "FILE",
      description = "The signer chain: PEM certificates, leaf first, root last (2 to 8).")
  Path chain;

  /** The JSON output. */
  record Result(String keySetId, String leaf, String root, String rootThumbprint) {}

  @Override
  int run() throws CliException, HostException {
    byte[] pem = CliFiles.read(chain, "--chain", DcPem.MAX_CHAIN_PEM_BYTES);
    List<X509Certificate> certs;
    try {
      certs = KdmSignerKeys.validateChain(DcPem.parseCertificates(pem));
    } catch (MalformedInputException e) {
      throw CliException.usage("--chain " + chain + ": " + e.getMessage());
    } catch (CinemaException e) {
      throw CliException.verification(
          "--chain "
              + chain
              + " is not an ST 430-2 signer chain ("
              + e.code()
              + ": "
              + e.getMessage()
              + ")");
    }
    byte[] answer =
        adminOptions
            .client()
            .postAdmin(
                "/admin/kdm-signer/chain",
                pem,
                "application/x-pem-file",
                "application/json",
                HostClient.MAX_SMALL_BYTES);
    EnclaveApi.KeySetResponse r;
    try {
      r = Json.decode(answer, HostClient.MAX_SMALL_BYTES, EnclaveApi.KeySetResponse.class);
      List<String> got = r.keyBundle().kdmSignerChain();
      if (got == null
          || got.isEmpty()
          || !java.util.Arrays.equals(
              Base64Url.decode("kdm_signer_chain", got.get(0), KdmSignerKeys.MAX_CERTIFICATE_BYTES),
              certs.get(0).getEncoded())) {
        throw CliException.verification(
            "the host answered a key bundle without the imported chain");
      }
    } catch (MalformedInputException
        | java.security.cert.CertificateEncodingException
        | NullPointerException e) {
      throw CliException.verification("the host answered no key set response");
    }
    X509Certificate root = certs.get(certs.size() - 1);
    String rootThumbprint;
    try {
      rootThumbprint = DcCertificates.thumbprintBase64(root);
    } catch (CinemaException e) {
      throw CliException.verification("the chain's root has no thumbprint: " + e.getMessage());
    }
    String leaf = DcCertificates.rfc2253(certs.get(0).getSubjectX500Principal());
    String rootName = DcCertificates.rfc2253(root.getSubjectX500Principal());
    if (json) {
      printJson(new Result(r.keyBundle().keySetId(), leaf, rootName, rootThumbprint));
      return ExitCodes.OK;
    }
    var o = out();
    o.println(
        "imported:     " + certs.size() + " certificates for key set " + r.keyBundle().keySetId());
    o.println("leaf:         " + leaf);
    o.println("root:         " + rootName + " (thumbprint " + rootThumbprint + ")");
    o.println(
        "next:         keycast kdm signer --host URL <pins> --out FILE   (the attested chain for cinemas)");
    return ExitCodes.OK;
  }
}
