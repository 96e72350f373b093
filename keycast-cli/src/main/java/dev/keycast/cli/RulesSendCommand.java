package dev.keycast.cli;

import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.api.HostApi;
import dev.keycast.protocol.booking.KdmBooking;
import dev.keycast.protocol.booking.StudioRules;
import dev.keycast.protocol.policy.SendPolicy;
import dev.keycast.protocol.sender.RulesStatement;
import dev.keycast.protocol.sender.SenderSigningKey;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code keycast rules send} (issue 25, wire-format.md section 11.1): the studio's rules for the
 * KDMs made from its ingested DKDM of a CPL, signed with the sender key that ingested the DKDM.
 * The attestation is verified first (the rules name the attested key set); the host stores the
 * signed statement and presents it with every booking, and the enclave checks it each time.
 */
@Command(
    name = "send",
    mixinStandardHelpOptions = true,
    versionProvider = KeycastCli.Version.class,
    sortOptions = false,
    description = {
      "Sign and store your rules for the KDMs distributors book from your ingested DKDM of --cpl: the"
          + " screens (--screen-root with --subject, and/or --screen), the latest end and longest length"
          + " of any KDM window, and how many screens one booking may name. Sign with the sender key that"
          + " ingested the DKDM: the enclave refuses rules signed by anyone else.",
      "Exits 0 stored; 2 usage; 3 a file unreadable; 4 refused (rules_invalid, rules_dkdm_mismatch,"
          + " dkdm_not_found, ...) or the attestation fails; 5 unreachable."
    },
    footer = ExitCodes.HELP)
final class RulesSendCommand extends KeycastCommand {
  @Mixin HostOptions hostOptions;
  @Mixin AttestationOptions attestationOptions;
  @Mixin ScreenSelectorOptions screenSelector;

  @Option(
      names = "--cpl",
      required = true,
      paramLabel = "UUID",
      description = "The CPL id (urn:uuid: prefix allowed).")
  String cpl;

  @Option(
      names = "--dkdm-signer-certificate",
      required = true,
      paramLabel = "FILE",
      description =
          "The certificate that signed your DKDM (PEM or DER): the rules are for DKDMs it signed.")
  Path dkdmSignerCertificate;

  @Option(
      names = "--dkdm-signer-key",
      required = true,
      paramLabel = "FILE",
      description =
          "Its RSA private key (unencrypted PEM): it signs the rules too, so that only you can write"
              + " rules for your DKDMs (not an operator, not a distributor holding the DKDM file).")
  Path dkdmSignerKey;

  @Option(
      names = "--formulation",
      paramLabel = "NAME",
      description =
          "The KDMs' formulation: modified-transitional-1 (default), multiple-modified-transitional-1,"
              + " dci-any or dci-specific. Bookings cannot change it.")
  String formulation;

  @Option(
      names = "--forensic-mark-flag",
      paramLabel = "URI",
      description =
          "A ForensicMarkFlag every KDM carries (repeatable; default none: marking on). Bookings cannot change it.")
  List<String> forensicMarkFlags = new ArrayList<>();

  @Option(
      names = "--content-authenticator",
      paramLabel = "THUMBPRINT",
      description =
          "dci-any and dci-specific: base64 SHA-1 thumbprint of the CPL signer's certificate.")
  String contentAuthenticator;

  @Option(
      names = "--latest-end",
      paramLabel = "TIME",
      description =
          "No KDM window may end later: an instant 2027-01-31T00:00:00Z or a date. Default: no bound but the DKDM's.")
  String latestEnd;

  @Option(
      names = "--max-window",
      paramLabel = "DURATION",
      description = "The longest KDM window, e.g. 14d or 36h. Default: no bound but the DKDM's.")
  String maxWindow;

  @Option(
      names = "--max-screens",
      paramLabel = "N",
      description =
          "The most screens one booking may name (1.."
              + KdmBooking.MAX_SCREENS
              + "). Default: "
              + KdmBooking.MAX_SCREENS
              + ".")
  Integer maxScreens;

  @Option(
      names = "--sender-key",
      required = true,
      paramLabel = "FILE",
      description = "The PEM Ed25519 sender key that ingested the DKDM.")
  Path senderKey;

  @Override
  int run() throws CliException, HostException {
    UUID cplId = KdmSendCommand.uuid("--cpl", cpl);
    java.security.cert.X509Certificate signerCert;
    String dkdmSigner;
    try {
      signerCert =
          (java.security.cert.X509Certificate)
              java.security.cert.CertificateFactory.getInstance("X.509")
                  .generateCertificate(
                      new java.io.ByteArrayInputStream(
                          java.util.Base64.getDecoder()
                              .decode(KdmSendCommand.certificate(dkdmSignerCertificate))));
      dkdmSigner = dev.keycast.protocol.cinema.DcCertificates.thumbprintBase64(signerCert);
    } catch (java.security.cert.CertificateException
        | dev.keycast.protocol.cinema.CinemaException e) {
      throw CliException.usage(
          "--dkdm-signer-certificate " + dkdmSignerCertificate + ": not a certificate");
    }
    SendPolicy.KdmRules kdm;
    try {
      kdm = new SendPolicy.KdmRules(formulation, forensicMarkFlags, contentAuthenticator, null);
    } catch (IllegalArgumentException e) {
      throw CliException.usage(e.getMessage());
    }
    ScreenSelectorOptions.Selection selected = screenSelector.selection();
    List<String> roots = selected.roots();
    Set<String> thumbprints = selected.thumbprints();
    Map<String, String> subjectMap = selected.subject();
    Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
    Instant end =
        latestEnd == null
            ? now.plusSeconds(StudioRules.MAX_WINDOW_SECONDS)
            : SendCommand.time("--latest-end", latestEnd);
    long window =
        maxWindow == null
            ? StudioRules.MAX_WINDOW_SECONDS
            : Durations.parse("--max-window", maxWindow).toSeconds();
    int cap = maxScreens == null ? KdmBooking.MAX_SCREENS : maxScreens;
    EnclaveIdentity id =
        EnclaveIdentity.verifyEnclave(
            hostOptions.client(), attestationOptions.pins(), new SecureRandom());
    StudioRules rules;
    try {
      rules =
          new StudioRules(
              StudioRules.VERSION,
              id.bundle().keySetId(),
              "urn:uuid:" + cplId,
              dkdmSigner,
              new SendPolicy.RecipientSelector(null, roots, subjectMap, List.copyOf(thumbprints)),
              end,
              window,
              cap,
              now,
              kdm);
    } catch (IllegalArgumentException e) {
      throw CliException.usage(e.getMessage());
    }
    byte[] statement = rules.encode();
    HostApi.RulesStored stored;
    byte[] pkcs8 =
        DkdmImportKeyCommand.pkcs8(
            CliFiles.read(dkdmSignerKey, "--dkdm-signer-key", 64 * 1024),
            "--dkdm-signer-key " + dkdmSignerKey);
    try (SenderSigningKey key = SenderSets.readPrivate(senderKey, "--sender-key")) {
      java.security.PrivateKey signerKey =
          dev.keycast.protocol.cinema.LegacyDkdmKeys.privateKey(pkcs8, signerCert);
      RulesStatement st = RulesStatement.of(statement, key.publicKey());
      stored =
          hostOptions
              .client()
              .postSigned(
                  "/v1/rules",
                  new EnclaveApi.SignedRules(
                      Base64Url.encode(statement),
                      Base64Url.encode(key.publicKey().raw()),
                      Base64Url.encode(st.sign(key)),
                      Base64Url.encode(signerCert.getEncoded()),
                      Base64Url.encode(st.signWithDkdmSigner(signerKey))),
                  key,
                  HostClient.MAX_SMALL_BYTES,
                  HostApi.RulesStored.class);
    } catch (dev.keycast.protocol.cinema.CinemaException e) {
      throw CliException.usage("--dkdm-signer-key " + dkdmSignerKey + ": " + e.getMessage());
    } catch (java.security.cert.CertificateEncodingException e) {
      throw CliException.usage("--dkdm-signer-certificate: " + e.getMessage());
    } finally {
      java.util.Arrays.fill(pkcs8, (byte) 0);
    }
    if (json) {
      printJson(stored);
      return ExitCodes.OK;
    }
    var o = out();
    o.println(
        "rules:        stored for "
            + stored.cplId()
            + " (key set "
            + id.bundle().keySetId()
            + ", attestation verified)");
    o.println("dkdm signer:  " + stored.dkdmSigner());
    o.println(
        "screens:      "
            + roots.size()
            + " manufacturer root(s)"
            + (subjectMap.isEmpty() ? "" : " with " + screenSelector.subject)
            + ", "
            + thumbprints.size()
            + " thumbprint(s)");
    o.println("latest end:   " + stored.latestEnd());
    o.println("max window:   " + Duration.ofSeconds(stored.maxWindowSeconds()));
    o.println("max screens:  " + stored.maxScreens() + " per booking");
    o.println(
        "kdm options:  "
            + kdm.formulation()
            + (kdm.forensicMarkFlags().isEmpty()
                ? ", forensic marking on"
                : ", forensic-mark flags " + kdm.forensicMarkFlags()));
    o.println("signed by:    " + stored.sender());
    return ExitCodes.OK;
  }
}
