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
import java.util.LinkedHashSet;
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

  @Option(names = "--cpl", required = true, paramLabel = "UUID", description = "The CPL id (urn:uuid: prefix allowed).")
  String cpl;

  @Option(names = "--dkdm-signer", paramLabel = "THUMBPRINT",
      description = "The thumbprint of your DKDM's signer certificate ('keycast dkdm ingest' prints it as signer)."
          + " Default: the signer of the DKDMs the host lists for --cpl, when they all have the same one.")
  String dkdmSigner;

  @Option(names = "--screen-root", paramLabel = "FILE",
      description = "A manufacturer root certificate (PEM or DER): screens whose chain ends at it. Repeatable (at most 16).")
  List<Path> screenRoots = new ArrayList<>();

  @Option(names = "--subject", paramLabel = "ATTRS",
      description = "With --screen-root: required leaf subject attributes, e.g. O=Manufacturer,OU=Site (exact match).")
  String subject;

  @Option(names = "--screen", paramLabel = "THUMBPRINT",
      description = "A screen's certificate thumbprint. Repeatable.")
  List<String> screens = new ArrayList<>();

  @Option(names = "--latest-end", paramLabel = "TIME",
      description = "No KDM window may end later: an instant 2027-01-31T00:00:00Z or a date. Default: no bound but the DKDM's.")
  String latestEnd;

  @Option(names = "--max-window", paramLabel = "DURATION",
      description = "The longest KDM window, e.g. 14d or 36h. Default: no bound but the DKDM's.")
  String maxWindow;

  @Option(names = "--max-screens", paramLabel = "N",
      description = "The most screens one booking may name (1.." + KdmBooking.MAX_SCREENS + "). Default: "
          + KdmBooking.MAX_SCREENS + ".")
  Integer maxScreens;

  @Option(names = "--sender-key", required = true, paramLabel = "FILE",
      description = "The PEM Ed25519 sender key that ingested the DKDM.")
  Path senderKey;

  /** The one signer of the DKDMs the host lists for the CPL (GET /v1/dkdms?cpl=UUID). */
  static String ingestedSigner(HostClient host, UUID cplId, SenderSigningKey key) throws CliException, HostException {
    HostApi.DkdmList list = host.getSigned("/v1/dkdms?cpl=" + cplId, key, HostClient.MAX_SMALL_BYTES,
        HostApi.DkdmList.class);
    Set<String> signers = new java.util.TreeSet<>();
    list.dkdms().forEach(d -> signers.add(d.signerThumbprint()));
    if (signers.isEmpty()) {
      throw CliException.usage("no DKDM is ingested for CPL " + cplId + ": ingest it first (keycast dkdm ingest)");
    }
    if (signers.size() > 1) {
      throw CliException.usage("the DKDMs of CPL " + cplId + " have " + signers.size() + " signers " + signers
          + ": choose one with --dkdm-signer");
    }
    return signers.iterator().next();
  }

  @Override
  int run() throws CliException, HostException {
    UUID cplId = KdmSendCommand.uuid("--cpl", cpl);
    if (dkdmSigner != null && !SendPolicy.isWellFormedThumbprint(dkdmSigner.strip())) {
      throw CliException.usage("--dkdm-signer is not a certificate thumbprint (base64 of 20 bytes, 28 characters)");
    }
    Set<String> thumbprints = new LinkedHashSet<>();
    for (String t : screens) {
      if (!SendPolicy.isWellFormedThumbprint(t.strip())) {
        throw CliException.usage("--screen \"" + t + "\" is not a certificate thumbprint (28 characters of base64)");
      }
      thumbprints.add(t.strip());
    }
    List<String> roots = new ArrayList<>();
    for (Path r : screenRoots) {
      roots.add(KdmSendCommand.certificate(r));
    }
    if (roots.isEmpty() && thumbprints.isEmpty()) {
      throw CliException.usage("no screens: pass --screen-root FILE (a manufacturer root) or --screen THUMBPRINT");
    }
    Map<String, String> subjectMap = subject == null ? Map.of() : SendCommand.parseSubject(subject);
    if (!subjectMap.isEmpty() && roots.isEmpty()) {
      throw CliException.usage("--subject needs at least one --screen-root");
    }
    Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
    Instant end = latestEnd == null ? now.plusSeconds(StudioRules.MAX_WINDOW_SECONDS)
        : SendCommand.time("--latest-end", latestEnd);
    long window = maxWindow == null ? StudioRules.MAX_WINDOW_SECONDS
        : Durations.parse("--max-window", maxWindow).toSeconds();
    int cap = maxScreens == null ? KdmBooking.MAX_SCREENS : maxScreens;
    EnclaveIdentity id = EnclaveIdentity.verifyEnclave(hostOptions.client(), attestationOptions.pins(),
        new SecureRandom());
    StudioRules rules;
    try (SenderSigningKey key = SenderSets.readPrivate(senderKey, "--sender-key")) {
      if (dkdmSigner == null) {
        dkdmSigner = ingestedSigner(hostOptions.client(), cplId, key);
      }
    }
    try {
      rules = new StudioRules(StudioRules.VERSION, id.bundle().keySetId(), "urn:uuid:" + cplId, dkdmSigner.strip(),
          new SendPolicy.RecipientSelector(null, roots, subjectMap, List.copyOf(thumbprints)), end, window, cap, now);
    } catch (IllegalArgumentException e) {
      throw CliException.usage(e.getMessage());
    }
    byte[] statement = rules.encode();
    HostApi.RulesStored stored;
    try (SenderSigningKey key = SenderSets.readPrivate(senderKey, "--sender-key")) {
      byte[] sig = RulesStatement.of(statement, key.publicKey()).sign(key);
      stored = hostOptions.client().postSigned("/v1/rules", new EnclaveApi.SignedRules(Base64Url.encode(statement),
          Base64Url.encode(key.publicKey().raw()), Base64Url.encode(sig)), key, HostClient.MAX_SMALL_BYTES,
          HostApi.RulesStored.class);
    }
    if (json) {
      printJson(stored);
      return ExitCodes.OK;
    }
    var o = out();
    o.println("rules:        stored for " + stored.cplId() + " (key set " + id.bundle().keySetId()
        + ", attestation verified)");
    o.println("dkdm signer:  " + stored.dkdmSigner());
    o.println("screens:      " + roots.size() + " manufacturer root(s)" + (subjectMap.isEmpty() ? "" : " with " + subject)
        + ", " + thumbprints.size() + " thumbprint(s)");
    o.println("latest end:   " + stored.latestEnd());
    o.println("max window:   " + Duration.ofSeconds(stored.maxWindowSeconds()));
    o.println("max screens:  " + stored.maxScreens() + " per booking");
    o.println("signed by:    " + stored.sender());
    return ExitCodes.OK;
  }
}
