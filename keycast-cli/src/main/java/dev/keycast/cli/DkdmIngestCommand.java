package dev.keycast.cli;

import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.cinema.DcPem;
import dev.keycast.protocol.cinema.DkdmIngest;
import dev.keycast.protocol.cinema.KdmReader;
import dev.keycast.protocol.keyset.KeySet;
import dev.keycast.protocol.sender.DkdmIngestStatement;
import dev.keycast.protocol.sender.SenderSigningKey;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code keycast dkdm ingest} (issue 25, api.md section 2.5): sends a DKDM through the host to the
 * enclave, which verifies it against the studio roots given here, checks it is addressed to its
 * certificate, decrypts its keys and seals them; the host stores the sealed form. The sender signs
 * the DKDM and the roots (wire-format.md section 10.2), so the host cannot add a root of its own.
 */
@Command(
    name = "ingest",
    mixinStandardHelpOptions = true,
    versionProvider = KeycastCli.Version.class,
    sortOptions = false,
    description = {
      "Send --dkdm through the host to the enclave, trusting the signer roots of --studio-root, signed"
          + " by your sender key. Prints the CPL, title, key count, window and signer the enclave ingested"
          + " (never a key).",
      "Exits 0 ingested; 2 usage; 3 a file unreadable; 4 refused (dkdm_signature_invalid,"
          + " dkdm_signer_untrusted, dkdm_wrong_recipient, dkdm_block_malformed, dkdm_window_past, sender_*, ...);"
          + " 5 unreachable."
    },
    footer = ExitCodes.HELP)
final class DkdmIngestCommand extends KeycastCommand {
  @Mixin HostOptions hostOptions;

  @Option(
      names = "--dkdm",
      required = true,
      paramLabel = "FILE",
      description = "The DKDM (SMPTE ST 430-1 XML).")
  Path dkdm;

  @Option(
      names = "--studio-root",
      required = true,
      paramLabel = "FILE",
      description =
          "PEM root certificate(s) the DKDM's signer chain may end in (repeatable; up to 16 in all).")
  List<Path> studioRoots = new ArrayList<>();

  @Option(
      names = "--sender-key",
      required = true,
      paramLabel = "FILE",
      description =
          "Your PEM Ed25519 sender key (keycast sender keygen): the enclave admits only senders of its sender set.")
  Path senderKey;

  @Override
  int run() throws CliException, HostException {
    byte[] xml = CliFiles.read(dkdm, "--dkdm", KdmReader.MAX_KDM_BYTES);
    List<byte[]> roots = new ArrayList<>();
    for (Path p : studioRoots) {
      try {
        roots.addAll(
            DcPem.parseCertificates(CliFiles.read(p, "--studio-root", DcPem.MAX_CHAIN_PEM_BYTES)));
      } catch (MalformedInputException e) {
        throw CliException.usage(
            "--studio-root " + p + ": not PEM certificates (" + e.getMessage() + ")");
      }
    }
    if (roots.size() > DkdmIngest.MAX_STUDIO_ROOTS) {
      throw CliException.usage(
          "--studio-root: at most "
              + DkdmIngest.MAX_STUDIO_ROOTS
              + " certificates in all, got "
              + roots.size());
    }
    HostClient host = hostOptions.client();
    // the key-set id is the host's word: a wrong one only makes the enclave refuse the signature
    String keySetId = host.ready().keySetId();
    if (keySetId == null || !KeySet.isWellFormedId(keySetId)) {
      throw HostException.answered(
          503, "not_ready", "the host reports no key set: it is not ready");
    }
    EnclaveApi.DkdmIngestResponse a;
    try (SenderSigningKey key = SenderSets.readPrivate(senderKey, "--sender-key")) {
      Instant ts = Instant.ofEpochSecond(Instant.now().getEpochSecond());
      byte[] sig = DkdmIngestStatement.of(keySetId, xml, roots, ts, key.publicKey()).sign(key);
      EnclaveApi.DkdmIngestRequest body =
          new EnclaveApi.DkdmIngestRequest(
              Base64Url.encode(xml),
              roots.stream().map(Base64Url::encode).toList(),
              new EnclaveApi.SenderSignature(
                  Base64Url.encode(key.publicKey().raw()),
                  ts.getEpochSecond(),
                  Base64Url.encode(sig)));
      a = host.ingestDkdm(body, key);
    }
    if (json) {
      printJson(
          new EnclaveApi.DkdmIngestResponse(
              a.keySetId(),
              a.messageId(),
              a.cplId(),
              a.contentTitle(),
              a.keyCount(),
              a.notValidBefore(),
              a.notValidAfter(),
              a.signerThumbprint(),
              a.studioRootThumbprint(),
              a.sender(),
              a.secretId(),
              null,
              null));
      return ExitCodes.OK;
    }
    var o = out();
    o.println("ingested:  " + a.messageId() + " (key set " + a.keySetId() + ")");
    o.println(
        "cpl:       "
            + a.cplId()
            + " \""
            + a.contentTitle()
            + "\", "
            + a.keyCount()
            + " key"
            + (a.keyCount() == 1 ? "" : "s"));
    o.println(
        "window:    "
            + a.notValidBefore()
            + " to "
            + a.notValidAfter()
            + " (bounds every KDM made from it)");
    o.println("signer:    " + a.signerThumbprint() + " (root " + a.studioRootThumbprint() + ")");
    o.println("sealed as: " + a.secretId() + ", stored by the host");
    return ExitCodes.OK;
  }
}
