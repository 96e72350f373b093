package dev.keycast.cli;

import dev.keycast.protocol.cinema.CinemaException;
import dev.keycast.protocol.cinema.DcCertificates;
import dev.keycast.protocol.cinema.KdmCipherBlock;
import dev.keycast.protocol.cinema.KdmReader;
import dev.keycast.protocol.cinema.VerifiedKdm;
import java.io.ByteArrayInputStream;
import java.nio.file.Path;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.OffsetDateTime;
import java.util.Collection;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code keycast kdm verify}: what a cinema (or a studio checking what Keycast issued) runs on a KDM
 * file: its XML signature and signer chain against a pinned root, its structure, and, with the
 * screen's private key, every cipher block. Never prints a content key.
 */
@Command(
    name = "verify",
    mixinStandardHelpOptions = true,
    versionProvider = KeycastCli.Version.class,
    sortOptions = false,
    description = {
      "Verify a KDM (SMPTE ST 430-1): its XML signature (RSA-SHA256, inclusive C14N with comments), its signer"
          + " chain (ST 430-2) up to --signer-root, its structure and window; with --screen-key,"
          + " decrypt every cipher block with the screen's private key and check it matches the"
          + " KDM's signer, CPL, key ids, key types and window. Prints what the KDM states (never a"
          + " content key). Exits 0 only when everything verifies.",
    },
    footer = ExitCodes.HELP)
final class KdmVerifyCommand extends KeycastCommand {
  @Option(
      names = "--kdm",
      required = true,
      paramLabel = "FILE",
      description = "The KDM XML file ('-' for stdin).")
  Path kdm;

  @Option(
      names = "--signer-root",
      required = true,
      paramLabel = "FILE",
      description = "PEM certificate of the root the KDM signer's chain must end at.")
  Path signerRoot;

  @Option(
      names = "--screen-key",
      paramLabel = "FILE",
      description =
          "The screen's RSA private key (PEM, PKCS#8 or PKCS#1): decrypt and check every"
              + " cipher block.")
  Path screenKey;

  private final Clock clock;

  KdmVerifyCommand() {
    this(Clock.systemUTC());
  }

  KdmVerifyCommand(Clock clock) {
    this.clock = clock;
  }

  record Key(String type, String id) {}

  record Result(
      boolean verified,
      String messageId,
      String annotation,
      String issueDate,
      String contentTitle,
      String cplId,
      String formulation,
      String notValidBefore,
      String notValidAfter,
      boolean validNow,
      String recipientSubject,
      String recipientIssuer,
      String recipientSerial,
      List<String> deviceList,
      List<Key> keys,
      List<String> signerChain,
      String signerThumbprint,
      Integer blocksDecrypted) {}

  @Override
  int run() throws CliException {
    byte[] xml = CliFiles.read(kdm, "--kdm", KdmReader.MAX_KDM_BYTES);
    X509Certificate root = readRoot(signerRoot);
    VerifiedKdm k;
    if (screenKey == null) {
      k = verify(xml, root, null);
    } else {
      try (RecipientPrivateKey key = RecipientPrivateKey.load(screenKey, "--screen-key")) {
        if (key.rsaPrivateKey() == null) {
          throw CliException.usage(
              "--screen-key " + screenKey + ": a screen key is RSA (ST 430-2), this one is X25519");
        }
        k = verify(xml, root, key.rsaPrivateKey());
      }
    }
    OffsetDateTime now = OffsetDateTime.now(clock);
    boolean validNow = !now.isBefore(k.notValidBefore()) && !now.isAfter(k.notValidAfter());
    List<Key> keys =
        k.keyIds().stream().map(t -> new Key(t.type().name(), t.keyId().toString())).toList();
    List<String> chain =
        k.signerChain().stream()
            .map(c -> DcCertificates.rfc2253(c.getSubjectX500Principal()))
            .toList();
    String thumbprint;
    try {
      thumbprint = DcCertificates.thumbprintBase64(k.signerChain().getFirst());
    } catch (CinemaException e) {
      throw CliException.verification(e.code() + ": " + e.getMessage());
    }
    Integer decrypted = screenKey == null ? null : k.blocks().size();
    for (KdmCipherBlock b : k.blocks()) {
      b.wipe();
    }
    Result r =
        new Result(
            true,
            k.messageId().toString(),
            k.annotationText(),
            k.issueDate().toString(),
            k.contentTitle(),
            k.cplId().toString(),
            k.formulation().name(),
            k.notValidBefore().toString(),
            k.notValidAfter().toString(),
            validNow,
            k.recipientSubjectName(),
            k.recipientIssuerName(),
            k.recipientSerialNumber().toString(),
            k.deviceList(),
            keys,
            chain,
            thumbprint,
            decrypted);
    if (json) {
      printJson(r);
      return ExitCodes.OK;
    }
    var out = out();
    out.println(
        "kdm:          signature verified (signer chain of "
            + chain.size()
            + " to the given root)");
    out.println("message id:   " + r.messageId());
    out.println("title:        " + r.contentTitle() + " (CPL " + r.cplId() + ")");
    out.println("formulation:  " + r.formulation());
    out.println(
        "window:       "
            + r.notValidBefore()
            + " .. "
            + r.notValidAfter()
            + (validNow ? " (valid now)" : " (NOT valid now: " + now + ")"));
    out.println("recipient:    " + r.recipientSubject());
    out.println("  issuer:     " + r.recipientIssuer() + ", serial " + r.recipientSerial());
    out.println("devices:      " + String.join(", ", r.deviceList()));
    out.println("signer:       " + chain.getFirst() + " (thumbprint " + thumbprint + ")");
    out.println("keys:         " + keys.size());
    for (Key key : keys) {
      out.println("  " + key.type() + "  " + key.id());
    }
    out.println(
        decrypted == null
            ? "blocks:       not decrypted (give --screen-key to check them)"
            : "blocks:       "
                + decrypted
                + " decrypted with the screen key, each matching the KDM");
    return ExitCodes.OK;
  }

  private static VerifiedKdm verify(byte[] xml, X509Certificate root, java.security.PrivateKey key)
      throws CliException {
    try {
      return KdmReader.read(xml, root, key);
    } catch (CinemaException e) {
      throw CliException.verification(e.code() + ": " + e.getMessage());
    }
  }

  private static X509Certificate readRoot(Path pem) throws CliException {
    byte[] bytes = CliFiles.read(pem, "--signer-root", 256 * 1024);
    try {
      Collection<? extends Certificate> certs =
          CertificateFactory.getInstance("X.509")
              .generateCertificates(new ByteArrayInputStream(bytes));
      if (certs.size() != 1) {
        throw CliException.usage(
            "--signer-root " + pem + ": want exactly one PEM certificate, found " + certs.size());
      }
      return (X509Certificate) certs.iterator().next();
    } catch (CertificateException e) {
      throw CliException.usage("--signer-root " + pem + ": not a PEM X.509 certificate");
    }
  }
}
