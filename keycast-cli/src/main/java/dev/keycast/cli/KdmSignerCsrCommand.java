package dev.keycast.cli;

import dev.keycast.protocol.cinema.DcCertificates;
import dev.keycast.protocol.cinema.DcPem;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequest;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code keycast kdm signer-csr}: the enclave's PKCS #10 request for its KDM signer leaf key
 * (wire-format.md section 4.6), through the host's admin listener, for the distributor's own ST
 * 430-2 CA to sign. The request is checked here (its signature under the key it names, the
 * dnQualifier) before it is written.
 */
@Command(
    name = "signer-csr",
    mixinStandardHelpOptions = true,
    versionProvider = KeycastCli.Version.class,
    sortOptions = false,
    description = {
      "Ask the enclave (through the host's admin listener) for a certificate signing request for its KDM"
          + " signer leaf key, and write it to --out as PEM. Have the distributor's SMPTE ST 430-2 CA issue"
          + " the signer certificate (role CS, digitalSignature) from it, then import the chain with"
          + " 'keycast kdm signer-import'.",
      "ST 430-2 wants the leaf's O to be its issuer's: pass the CA's O as --organization."
    },
    footer = ExitCodes.HELP)
final class KdmSignerCsrCommand extends KeycastCommand {
  @Mixin AdminOptions adminOptions;

  @Option(
      names = "--out",
      required = true,
      paramLabel = "FILE",
      description = "Where to write the request (PEM CERTIFICATE REQUEST; replaced if it exists).")
  Path out;

  @Option(
      names = "--organization",
      paramLabel = "O",
      description = "The subject's O (the distributor CA's O). Default: Keycast.")
  String organization;

  @Option(
      names = "--organizational-unit",
      paramLabel = "OU",
      description = "The subject's OU. Default: the key-set id.")
  String organizationalUnit;

  @Option(
      names = "--entity",
      paramLabel = "NAME",
      description = "The subject's CN after the role: CN=CS.NAME. Default: keycast-kdm-signer.")
  String entity;

  /** The JSON output. */
  record Result(String out, String subject, String dnQualifier) {}

  @Override
  int run() throws CliException, HostException {
    HostClient admin = adminOptions.client();
    List<String> query = new ArrayList<>();
    add(query, "organization", organization);
    add(query, "organizational_unit", organizationalUnit);
    add(query, "entity", entity);
    String path = "/admin/kdm-signer/csr" + (query.isEmpty() ? "" : "?" + String.join("&", query));
    byte[] pem =
        admin.postAdmin(
            path, new byte[0], "application/octet-stream", "application/pkcs10", 64 * 1024);
    Csr csr = readCsr(pem);
    String subject = csr.subject();
    String dnq = csr.dnQualifier();
    pem = csr.pem();
    CliFiles.write(out, pem, false, true);
    if (json) {
      printJson(new Result(out.toString(), subject, dnq));
      return ExitCodes.OK;
    }
    var o = out();
    o.println("request:      written to " + out + " (PEM)");
    o.println("subject:      " + subject);
    o.println("key digest:   " + dnq + " (the dnQualifier; the issued leaf must carry this key)");
    o.println("next:         have the distributor's CA issue the signer certificate, then");
    o.println(
        "              keycast kdm signer-import --admin "
            + adminOptions.admin
            + " --chain CHAIN.pem");
    return ExitCodes.OK;
  }

  /** A request the host answered, checked: its subject, its key's dnQualifier and its PEM re-encoded. */
  record Csr(String subject, String dnQualifier, byte[] pem) {}

  /**
   * The host's answer as a PKCS #10 request whose signature verifies under the key it names
   * ({@link ExitCodes#VERIFICATION_FAILED} otherwise, whatever the parser met).
   */
  static Csr readCsr(byte[] pem) throws CliException {
    String text = new String(pem, StandardCharsets.US_ASCII);
    try {
      String b64 =
          text.replace("-----BEGIN CERTIFICATE REQUEST-----", "")
              .replace("-----END CERTIFICATE REQUEST-----", "");
      JcaPKCS10CertificationRequest csr =
          new JcaPKCS10CertificationRequest(Base64.getMimeDecoder().decode(b64.strip()));
      if (!text.startsWith("-----BEGIN CERTIFICATE REQUEST-----")
          || !csr.isSignatureValid(
              new JcaContentVerifierProviderBuilder().build(csr.getPublicKey()))) {
        throw CliException.verification(
            "the host answered a certificate request whose signature does not verify");
      }
      String subject =
          DcCertificates.rfc2253(
              new javax.security.auth.x500.X500Principal(csr.getSubject().getEncoded()));
      String dnq = DcCertificates.publicKeyDigest(csr.getPublicKey());
      return new Csr(
          subject,
          dnq,
          DcPem.encode("CERTIFICATE REQUEST", csr.getEncoded())
              .getBytes(StandardCharsets.US_ASCII));
    } catch (CliException e) {
      throw e;
    } catch (Exception e) {
      throw CliException.verification(
          "the host answered no PKCS #10 certificate request ("
              + e.getClass().getSimpleName()
              + ")");
    }
  }

  private static void add(List<String> query, String name, String value) {
    if (value != null) {
      query.add(name + "=" + URLEncoder.encode(value, StandardCharsets.UTF_8).replace("+", "%20"));
    }
  }
}
