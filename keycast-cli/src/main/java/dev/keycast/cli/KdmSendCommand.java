package dev.keycast.cli;

import dev.keycast.protocol.api.HostApi;
import dev.keycast.protocol.cinema.CinemaException;
import dev.keycast.protocol.cinema.ContentKey;
import dev.keycast.protocol.cinema.ContentKeySet;
import dev.keycast.protocol.cinema.ContentKeySetCodec;
import dev.keycast.protocol.cinema.KdmDeliveries;
import dev.keycast.protocol.cinema.KeyType;
import dev.keycast.protocol.policy.SendPolicy;
import dev.keycast.protocol.receipt.Receipt;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code keycast kdm send}: a studio sends one CPL's content keys; the enclave issues one SMPTE
 * KDM per screen its rules select (wire-format.md section 9).
 *
 * <p>The content keys become a content-key set ({@link ContentKeySetCodec}), the rules a policy
 * with a {@code kdm} member; then the same path as {@code keycast send} ({@link SignedSend}):
 * attestation first, HPKE to the attested key with the policy as associated data, a sender
 * signature, and the signed receipt checked against this payload. The receipt lists every KDM
 * issued (with its SHA-256) and every screen refused with its reason.
 */
@Command(
    name = "send",
    mixinStandardHelpOptions = true,
    versionProvider = KeycastCli.Version.class,
    sortOptions = false,
    description = {
      "Send a CPL's content keys to the enclave, which issues one SMPTE ST 430-1 KDM per screen the"
          + " rules select and signs it with the key set's attested KDM signer. The enclave's"
          + " attestation is verified first; the keys are sealed to it (the host never sees them).",
      "Screens: by manufacturer root (--screen-root, optionally --subject) and/or by certificate"
          + " thumbprint (--screen). Screens are registered with 'keycast screen register'."
    },
    footer = ExitCodes.HELP)
final class KdmSendCommand extends KeycastCommand {
  private static final Pattern KEY =
      Pattern.compile(
          "([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}):([A-Z]{4}):([0-9a-fA-F]{32})");
  private static final int MAX_KEYS_FILE = 64 * 1024;

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
      names = "--title",
      required = true,
      paramLabel = "TEXT",
      description = "The content title (ContentTitleText).")
  String title;

  @Option(
      names = "--key",
      paramLabel = "UUID:TYPE:HEX",
      description =
          "A content key: key id, type (MDIK MDAK MDSK MDEK FMIK FMAK) and the AES-128 key in hex."
              + " Repeatable. Visible in the process list: prefer --keys-file.")
  List<String> keys = new ArrayList<>();

  @Option(
      names = "--keys-file",
      paramLabel = "FILE",
      description =
          "Content keys, one UUID:TYPE:HEX a line ('#' starts a comment; '-' reads stdin).")
  Path keysFile;

  @Option(
      names = "--not-before",
      required = true,
      paramLabel = "TIME",
      description =
          "Start of the key window: 'now', an instant 2026-01-31T12:00:00Z or a date 2026-01-31 (UTC).")
  String notBefore;

  @Option(
      names = "--not-after",
      required = true,
      paramLabel = "TIME",
      description = "End of the key window (same syntax).")
  String notAfter;

  @Option(
      names = "--formulation",
      paramLabel = "NAME",
      defaultValue = "modified-transitional-1",
      description =
          "modified-transitional-1 (default), multiple-modified-transitional-1, dci-any or dci-specific.")
  String formulation;

  @Option(
      names = "--content-authenticator",
      paramLabel = "THUMBPRINT",
      description =
          "dci-any and dci-specific: base64 SHA-1 thumbprint of the CPL signer's certificate.")
  String contentAuthenticator;

  @Option(
      names = "--forensic-mark-flag",
      paramLabel = "URI",
      description =
          "An ST 430-1 ForensicMarkFlag URI, e.g. http://www.smpte-ra.org/430-1/2006/KDM#mrkflg-audio-disable. Repeatable.")
  List<String> forensicMarkFlags = new ArrayList<>();

  @Option(
      names = "--annotation",
      paramLabel = "TEXT",
      description = "The KDMs' AnnotationText (default: the title).")
  String annotation;

  @Option(
      names = "--late-screens",
      description =
          "Screens registered after this send that the rules select get their KDM then (until --not-after).")
  boolean lateScreens;

  @Option(
      names = "--max-screens",
      paramLabel = "N",
      description =
          "The most KDMs this send may ever issue. Default: the number of --screen, or 100000 with --screen-root.")
  Integer maxScreens;

  @Option(
      names = "--secret-id",
      paramLabel = "ID",
      description = "Your name for this send (default: cpl-<UUID>).")
  String secretId;

  @Option(
      names = "--sender",
      paramLabel = "LABEL",
      defaultValue = "",
      description = "Your label (at most 256 characters).")
  String sender;

  @Option(
      names = "--sender-key",
      paramLabel = "FILE",
      description =
          "Your PEM Ed25519 sender key (keycast sender keygen), admitted by the key set's owner.")
  Path senderKey;

  @Option(
      names = "--receipt-out",
      paramLabel = "FILE",
      description = "Save the signed receipt (COSE_Sign1) here, for 'keycast receipt verify'.")
  Path receiptOut;

  /** One KDM issued, as printed. */
  record Issued(String screen, String deliveryId, String kdmSha256) {}

  /** One screen refused, as printed. */
  record Refused(String screen, String reason, String message) {}

  /** The JSON output. */
  record Result(
      String sendId,
      String cplId,
      String title,
      String keySetId,
      String receiptId,
      boolean replayed,
      Instant notBefore,
      Instant notAfter,
      String formulation,
      List<Issued> issued,
      List<Refused> refused,
      List<String> warnings) {}

  @Override
  int run() throws CliException, HostException {
    HostClient host = hostOptions.client();
    AttestationOptions.Pins pins = attestationOptions.pins();
    UUID cplId = uuid("--cpl", cpl);
    byte[] policyBytes = policyBytes(cplId);
    SendPolicy policy;
    try {
      policy = SendPolicy.parse(policyBytes);
    } catch (dev.keycast.protocol.MalformedInputException e) {
      throw CliException.usage(e.getMessage());
    }
    if (Instant.now().isAfter(policy.notAfter())) {
      throw CliException.usage(
          "the key window ended at " + policy.notAfter() + ": choose a later --not-after");
    }
    byte[] secret = contentKeySet(cplId);
    SignedSend.Outcome sent =
        SignedSend.send(
            host,
            pins,
            policyBytes,
            policy,
            secret,
            senderKey,
            receiptOut,
            !policy.recipients().anchors().isEmpty()
                || policy.recipients().thumbprints().size() >= 100,
            err());
    Receipt receipt = sent.receipt();
    HostApi.SendResult result = sent.result();
    List<Issued> issued = new ArrayList<>();
    for (Receipt.Delivery d : receipt.deliveries()) {
      if (!KdmDeliveries.FORMAT_ID.equals(d.formatId())) {
        throw CliException.verification(
            "send "
                + receipt.sendId()
                + ": the receipt lists a "
                + d.formatId()
                + " delivery in a KDM send");
      }
      issued.add(
          new Issued(
              d.recipientFingerprint(),
              d.deliveryId(),
              HexFormat.of().formatHex(d.envelopeSha256())));
    }
    List<Refused> refused = new ArrayList<>();
    for (Receipt.Skipped s : receipt.skipped()) {
      refused.add(new Refused(s.recipientFingerprint(), s.reasonCode(), s.message()));
    }
    EnclaveIdentity enclave = sent.enclave();
    if (json) {
      printJson(
          new Result(
              receipt.sendId(),
              cplId.toString(),
              title,
              receipt.keySetId(),
              result.receiptId(),
              result.replayed(),
              policy.notBefore(),
              policy.notAfter(),
              policy.kdm().formulation(),
              issued,
              refused,
              enclave.warnings()));
      return ExitCodes.OK;
    }
    var out = out();
    out.println(
        "send:         "
            + receipt.sendId()
            + (result.replayed() ? " (replayed: the host already had this exact send)" : ""));
    out.println("cpl:          " + cplId + "  " + title);
    out.println("enclave:      key set " + receipt.keySetId() + ", attestation verified");
    out.println(
        "receipt:      signature verified, issued "
            + receipt.issuedAt()
            + (receiptOut == null ? "" : ", saved to " + receiptOut));
    out.println(
        "key window:   "
            + policy.notBefore()
            + " .. "
            + policy.notAfter()
            + "  ("
            + policy.kdm().formulation()
            + ")");
    out.println("kdms issued:  " + issued.size());
    for (Issued i : issued) {
      out.println(
          "  screen key " + i.screen() + "  " + i.deliveryId() + "  sha256 " + i.kdmSha256());
    }
    out.println("refused:      " + refused.size());
    for (Refused r : refused) {
      out.println("  screen key " + r.screen() + "  " + r.reason() + ": " + r.message());
    }
    for (String w : enclave.warnings()) {
      out.println("WARNING: " + w);
    }
    return ExitCodes.OK;
  }

  private byte[] policyBytes(UUID cplId) throws CliException {
    ScreenSelectorOptions.Selection selected = screenSelector.selection();
    List<String> roots = selected.roots();
    Set<String> thumbprints = selected.thumbprints();
    Map<String, String> subjectMap = selected.subject();
    Instant nb = SendCommand.time("--not-before", notBefore);
    Instant na = SendCommand.time("--not-after", notAfter);
    if (!na.isAfter(nb)) {
      throw CliException.usage("--not-after " + na + " must be after --not-before " + nb);
    }
    int max =
        maxScreens != null
            ? maxScreens
            : roots.isEmpty()
                ? Math.max(1, thumbprints.size())
                : Math.max(SendCommand.DEFAULT_MAX_WITH_ANCHORS, thumbprints.size());
    try {
      SendPolicy.KdmRules rules =
          new SendPolicy.KdmRules(formulation, forensicMarkFlags, contentAuthenticator, annotation);
      SendPolicy p =
          new SendPolicy(
              SendPolicy.VERSION,
              secretId == null ? "cpl-" + cplId : secretId,
              sender,
              nb,
              na,
              new SendPolicy.RecipientSelector(
                  List.of(), roots, subjectMap, List.copyOf(thumbprints)),
              lateScreens,
              max,
              SendPolicy.CONTENT_AES_256_GCM,
              rules);
      return p.toJson();
    } catch (IllegalArgumentException e) {
      throw CliException.usage(e.getMessage());
    }
  }

  /** The content-key set's bytes; the keys are parsed into arrays that are wiped here. */
  private byte[] contentKeySet(UUID cplId) throws CliException {
    List<String> lines = new ArrayList<>(keys);
    if (keysFile != null) {
      byte[] file = CliFiles.read(keysFile, "--keys-file", MAX_KEYS_FILE);
      String text = new String(file, StandardCharsets.US_ASCII);
      Arrays.fill(file, (byte) 0);
      for (String line : text.split("\\R")) {
        int hash = line.indexOf('#');
        String v = (hash >= 0 ? line.substring(0, hash) : line).strip();
        if (!v.isEmpty()) {
          lines.add(v);
        }
      }
    }
    if (lines.isEmpty()) {
      throw CliException.usage("no content keys: pass --key UUID:TYPE:HEX or --keys-file FILE");
    }
    List<ContentKey> parsed = new ArrayList<>();
    try {
      for (int i = 0; i < lines.size(); i++) {
        Matcher m = KEY.matcher(lines.get(i).strip());
        if (!m.matches()) {
          throw CliException.usage(
              "content key "
                  + (i + 1)
                  + " is not UUID:TYPE:HEX (a key id, MDIK/MDAK/MDSK/MDEK/FMIK/FMAK"
                  + " and 32 hex digits of AES-128 key)");
        }
        byte[] k = HexFormat.of().parseHex(m.group(3).toLowerCase(Locale.ROOT));
        try {
          parsed.add(ContentKey.of(UUID.fromString(m.group(1)), KeyType.parse(m.group(2)), k));
        } finally {
          Arrays.fill(k, (byte) 0);
        }
      }
      return ContentKeySetCodec.encode(ContentKeySet.of(cplId, title, parsed));
    } catch (CinemaException e) {
      throw CliException.usage(e.getMessage());
    } finally {
      parsed.forEach(ContentKey::zeroize);
    }
  }

  static UUID uuid(String option, String v) throws CliException {
    String s = v.strip();
    if (s.regionMatches(true, 0, "urn:uuid:", 0, 9)) {
      s = s.substring(9);
    }
    if (!s.matches("[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")) {
      throw CliException.usage(
          option
              + " \""
              + abbreviate(v)
              + "\" is not a UUID (e.g. 5d9a0c55-0000-4000-8000-000000000001)");
    }
    return UUID.fromString(s);
  }

  static String certificate(Path file) throws CliException {
    byte[] bytes = CliFiles.read(file, "--screen-root", 64 * 1024);
    try {
      X509Certificate c =
          (X509Certificate)
              CertificateFactory.getInstance("X.509")
                  .generateCertificate(new ByteArrayInputStream(bytes));
      return Base64.getEncoder().encodeToString(c.getEncoded());
    } catch (CertificateException | RuntimeException e) {
      throw CliException.usage("--screen-root " + file + ": not a PEM or DER X.509 certificate");
    }
  }

  static String abbreviate(String v) {
    return v.length() > 60 ? v.substring(0, 60) + "..." : v;
  }
}
