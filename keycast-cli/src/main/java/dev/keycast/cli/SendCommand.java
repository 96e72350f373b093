package dev.keycast.cli;

import dev.keycast.protocol.Fingerprints;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.api.HostApi;
import dev.keycast.protocol.crypto.Sha256;
import dev.keycast.protocol.policy.SendPolicy;
import dev.keycast.protocol.receipt.Receipt;
import dev.keycast.protocol.receipt.ReceiptSignatureException;
import dev.keycast.protocol.receipt.ReceiptVerifier;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code keycast send}: verify the enclave, seal a secret to it under a policy, and check the
 * signed receipt of what it delivered.
 *
 * <p>Order: require both pins, the measurements and the KMS key ARN ({@link
 * AttestationOptions#pins()}), read the secret and build the policy (nothing on the network yet);
 * verify the attestation and the pinned KMS key ({@link EnclaveIdentity#verifyEnclave}) and refuse
 * to go on if either fails; seal with
 * HPKE to the attested receive key with {@code info = "keycast/v1/send" || 0x00 || key-set id} and
 * {@code aad =} the exact policy bytes (api.md 1.1); zeroize the secret; POST /v1/sends; verify the
 * receipt with the attested signing key and check that it covers exactly this policy and payload.
 */
@Command(
    name = "send",
    mixinStandardHelpOptions = true,
    versionProvider = KeycastCli.Version.class,
    sortOptions = false,
    description = {
      "Send one secret to every recipient a policy allows. The enclave's attestation is verified"
          + " first (nothing is sent otherwise); the secret is sealed with HPKE to the attested key,"
          + " with the policy as associated data so the host cannot change it; the signed receipt is"
          + " verified with the attested signing key.",
      "Recipients: explicit fingerprints (--recipient, --recipients-file) and/or certificate"
          + " holders under trust anchors (--anchor, optionally --subject)."
    },
    footer = ExitCodes.HELP)
final class SendCommand extends KeycastCommand {
  /** Default max_recipients when the policy selects by anchors. */
  static final int DEFAULT_MAX_WITH_ANCHORS = 100_000;

  private static final int MAX_RECIPIENTS_FILE = 96 * 1024 * 1024;

  @Mixin HostOptions hostOptions;
  @Mixin AttestationOptions attestationOptions;

  @Option(
      names = "--secret-file",
      paramLabel = "FILE",
      description = "Read the secret (1..65536 bytes) from this file; '-' reads stdin.")
  Path secretFile;

  @Option(
      names = "--secret-hex",
      paramLabel = "HEX",
      description = "The secret as hex (visible in the process list: prefer --secret-file).")
  String secretHex;

  @Option(
      names = "--secret-id",
      paramLabel = "ID",
      description =
          "Your name for the secret: 1..128 characters of [A-Za-z0-9._:-]. Recipients see it.")
  String secretId;

  @Option(
      names = "--sender",
      paramLabel = "LABEL",
      defaultValue = "",
      description = "Your label (at most 256 characters), shown to recipients.")
  String sender;

  @Option(
      names = "--sender-key",
      paramLabel = "FILE",
      description =
          "Your PEM Ed25519 sender key (keycast sender keygen): the enclave refuses a send it"
              + " does not sign, or whose key the key set's owner has not admitted.")
  Path senderKey;

  @Option(
      names = "--recipient",
      paramLabel = "FP",
      description =
          "A recipient key fingerprint (64 hex, see 'keycast recipient keygen'). Repeatable.")
  List<String> recipients = new ArrayList<>();

  @Option(
      names = "--recipients-file",
      paramLabel = "FILE",
      description = "A file of recipient fingerprints, one a line; '#' starts a comment.")
  Path recipientsFile;

  @Option(
      names = "--anchor",
      paramLabel = "PEM",
      description =
          "Also deliver to registered certificate holders whose chain leads to this CA"
              + " certificate (PEM or DER). Repeatable (at most 16).")
  List<Path> anchors = new ArrayList<>();

  @Option(
      names = "--subject",
      paramLabel = "ATTRS",
      description =
          "With --anchor: required leaf subject attributes, e.g. O=Studio,OU=Projectors (exact match).")
  String subject;

  @Option(
      names = "--not-before",
      paramLabel = "TIME",
      description =
          "Start of the validity window: 'now' (default), an instant 2026-01-31T12:00:00Z or a date 2026-01-31 (UTC).")
  String notBefore;

  @Option(
      names = "--not-after",
      paramLabel = "TIME",
      description = "End of the validity window (same syntax).")
  String notAfter;

  @Option(
      names = "--valid-for",
      paramLabel = "DURATION",
      description = "Instead of --not-after: the window's length, e.g. 30d or 12h. Default: 30d.")
  String validFor;

  @Option(
      names = "--late-recipients",
      description =
          "Let recipients that register after this send receive it later (inside the window).")
  boolean lateRecipients;

  @Option(
      names = "--max-recipients",
      paramLabel = "N",
      description =
          "The most deliveries this secret may ever have. Default: the number of"
              + " fingerprints, or "
              + DEFAULT_MAX_WITH_ANCHORS
              + " with --anchor.")
  Integer maxRecipients;

  @Option(
      names = "--rsa-content",
      paramLabel = "CIPHER",
      description = "Content cipher of RSA (CMS) deliveries: aes-256-gcm (default) or aes-256-cbc.")
  String rsaContent;

  @Option(
      names = "--policy",
      paramLabel = "FILE",
      description =
          "Send with this policy JSON, byte for byte, instead of building one from the options above.")
  Path policyFile;

  @Option(
      names = "--receipt-out",
      paramLabel = "FILE",
      description = "Save the signed receipt (COSE_Sign1) here, for 'keycast receipt verify'.")
  Path receiptOut;

  /** One delivery as printed. */
  record DeliveredTo(String recipient, String format, String deliveryId) {}

  /** One skipped candidate as printed. */
  record SkippedRecipient(String recipient, String reason, String message) {}

  /** The JSON output. */
  record Result(
      String sendId,
      String secretId,
      String keySetId,
      String kmsKeyId,
      String receiptId,
      boolean replayed,
      Instant issuedAt,
      Instant notBefore,
      Instant notAfter,
      boolean lateRecipients,
      List<DeliveredTo> delivered,
      List<SkippedRecipient> skipped,
      List<String> notRegistered,
      String receipt,
      List<String> warnings) {}

  @Override
  int run() throws CliException, HostException {
    HostClient host = hostOptions.client();
    AttestationOptions.Pins pins = attestationOptions.pins();
    byte[] policyBytes = policyBytes();
    SendPolicy policy = parsePolicy(policyBytes);
    Instant now = Instant.now();
    if (now.isAfter(policy.notAfter())) {
      throw CliException.usage(
          "the policy's window ended at " + policy.notAfter() + ": choose a later --not-after");
    }
    if (now.isBefore(policy.notBefore().minusSeconds(60))) {
      throw CliException.usage(
          "the policy's window starts at "
              + policy.notBefore()
              + ", in the future: the enclave only sends inside the window (use --not-before now)");
    }
    byte[] secret = readSecret();
    boolean big =
        policy.recipients().fingerprints().size() >= 1000
            || !policy.recipients().anchors().isEmpty();
    SignedSend.Outcome sent =
        SignedSend.send(host, pins, policyBytes, policy, secret, senderKey, receiptOut, big, err());
    EnclaveIdentity enclave = sent.enclave();
    HostApi.SendResult result = sent.result();
    Receipt receipt = sent.receipt();

    List<DeliveredTo> delivered = new ArrayList<>();
    Set<String> seen = new HashSet<>();
    for (Receipt.Delivery d : receipt.deliveries()) {
      delivered.add(new DeliveredTo(d.recipientFingerprint(), d.formatId(), d.deliveryId()));
      seen.add(d.recipientFingerprint());
    }
    List<SkippedRecipient> skipped = new ArrayList<>();
    for (Receipt.Skipped s : receipt.skipped()) {
      skipped.add(new SkippedRecipient(s.recipientFingerprint(), s.reasonCode(), s.message()));
      seen.add(s.recipientFingerprint());
    }
    List<String> notRegistered = new ArrayList<>();
    for (String fp : policy.recipients().fingerprints()) {
      if (!seen.contains(fp)) {
        notRegistered.add(fp);
      }
    }
    if (json) {
      printJson(
          new Result(
              receipt.sendId(),
              policy.secretId(),
              receipt.keySetId(),
              enclave.bundle().kmsKeyId(),
              result.receiptId(),
              result.replayed(),
              receipt.issuedAt(),
              policy.notBefore(),
              policy.notAfter(),
              policy.lateRecipients(),
              delivered,
              skipped,
              notRegistered,
              result.receipt(),
              enclave.warnings()));
      return ExitCodes.OK;
    }
    var out = out();
    out.println(
        "send:         "
            + receipt.sendId()
            + (result.replayed() ? " (replayed: the host already had this exact send)" : ""));
    out.println(
        "secret:       "
            + policy.secretId()
            + (policy.sender().isEmpty() ? "" : " from " + policy.sender()));
    out.println("enclave:      key set " + receipt.keySetId() + ", attestation verified");
    out.println("kms key:      " + enclave.bundle().kmsKeyId() + " (as pinned)");
    out.println(
        "receipt:      signature verified, issued "
            + receipt.issuedAt()
            + (receiptOut == null ? "" : ", saved to " + receiptOut));
    out.println("window:       " + policy.notBefore() + " .. " + policy.notAfter());
    out.println("delivered:    " + delivered.size());
    for (DeliveredTo d : delivered) {
      out.println("  " + d.recipient() + "  " + d.format() + "  " + d.deliveryId());
    }
    out.println("skipped:      " + skipped.size());
    for (SkippedRecipient s : skipped) {
      out.println("  " + s.recipient() + "  " + s.reason() + ": " + s.message());
    }
    if (!notRegistered.isEmpty()) {
      out.println(
          "not registered: "
              + notRegistered.size()
              + (policy.lateRecipients()
                  ? " (they receive the secret when they register, until " + policy.notAfter() + ")"
                  : " (late recipients are not allowed: they will not receive this secret)"));
      for (String fp : notRegistered) {
        out.println("  " + fp);
      }
    }
    for (String w : enclave.warnings()) {
      out.println("WARNING: " + w);
    }
    return ExitCodes.OK;
  }

  /**
   * Verifies the receipt with the attested signing key and checks that it is this send's: kind
   * send, the attested key set, SHA-256 of the exact policy bytes, SHA-256 of enc || ciphertext, the
   * send id derived from the payload (api.md 1.1 step 5), and that the host's delivery list agrees.
   */
  static Receipt checkReceipt(
      byte[] receiptBytes,
      EnclaveIdentity enclave,
      HostApi.SendResult result,
      SendPolicy policy,
      byte[] policyBytes,
      byte[] enc,
      byte[] ct)
      throws CliException {
    String sendId = result.sendId();
    Receipt r;
    try {
      r = ReceiptVerifier.verify(receiptBytes, enclave.bundle());
    } catch (ReceiptSignatureException e) {
      throw CliException.verification(
          "send "
              + sendId
              + ": the receipt does not verify with the attested"
              + " signing key of "
              + enclave.bundle().keySetId()
              + ": "
              + e.getMessage());
    } catch (MalformedInputException e) {
      throw CliException.verification(
          "send " + sendId + ": the receipt is malformed: " + e.getMessage());
    }
    if (r.kind() != Receipt.Kind.SEND) {
      throw CliException.verification(
          "send " + sendId + ": the receipt is of kind " + r.kind().wire() + ", not send");
    }
    if (!MessageDigest.isEqual(r.policySha256(), sha256(policyBytes))) {
      throw CliException.verification(
          "send "
              + sendId
              + ": the receipt covers another policy (pol "
              + HexFormat.of().formatHex(r.policySha256())
              + ")");
    }
    byte[] encCt = concat(enc, ct);
    if (!MessageDigest.isEqual(r.payloadSha256(), sha256(encCt))) {
      throw CliException.verification(
          "send "
              + sendId
              + ": the receipt covers another payload (pay "
              + HexFormat.of().formatHex(r.payloadSha256())
              + ")");
    }
    String expectedId = dev.keycast.protocol.SendIds.of(enc, ct);
    if (!r.sendId().equals(expectedId)
        || !expectedId.equals(sendId)
        || (result.receiptId() != null && !result.receiptId().equals(expectedId))) {
      throw CliException.verification(
          "send id mismatch: this payload's send id is "
              + expectedId
              + ", the host says "
              + sendId
              + ", the receipt says "
              + r.sendId());
    }
    if (result.secretId() != null && !result.secretId().equals(policy.secretId())) {
      throw CliException.verification(
          "send "
              + sendId
              + ": the host reports secret id \""
              + result.secretId()
              + "\", the policy says \""
              + policy.secretId()
              + "\"");
    }
    Map<String, String> byDelivery = new HashMap<>();
    for (Receipt.Delivery d : r.deliveries()) {
      byDelivery.put(d.deliveryId(), d.recipientFingerprint());
    }
    if (result.delivered() != null) {
      for (HostApi.DeliverySummary s : result.delivered()) {
        if (!s.recipient().equals(byDelivery.get(s.deliveryId()))) {
          throw CliException.verification(
              "send "
                  + sendId
                  + ": the host lists delivery "
                  + s.deliveryId()
                  + " to "
                  + s.recipient()
                  + ", which the signed receipt does not contain");
        }
      }
    }
    if (policy.recipients().anchors().isEmpty()) {
      Set<String> allowed = new HashSet<>(policy.recipients().fingerprints());
      for (Receipt.Delivery d : r.deliveries()) {
        if (!allowed.contains(d.recipientFingerprint())) {
          throw CliException.verification(
              "send "
                  + sendId
                  + ": the receipt lists a delivery to "
                  + d.recipientFingerprint()
                  + ", which the policy does not name");
        }
      }
    }
    return r;
  }

  private byte[] policyBytes() throws CliException {
    boolean built =
        secretId != null
            || !recipients.isEmpty()
            || recipientsFile != null
            || !anchors.isEmpty()
            || subject != null
            || notBefore != null
            || notAfter != null
            || validFor != null
            || lateRecipients
            || maxRecipients != null
            || rsaContent != null
            || !sender.isEmpty();
    if (policyFile != null) {
      if (built) {
        throw CliException.usage(
            "--policy replaces --secret-id, --sender, --recipient, --recipients-file,"
                + " --anchor, --subject, the window options, --late-recipients, --max-recipients and"
                + " --rsa-content: pass either --policy or those options");
      }
      return CliFiles.read(policyFile, "--policy", SendPolicy.MAX_BYTES);
    }
    if (secretId == null) {
      throw CliException.usage(
          "--secret-id is required: name the secret (1..128 characters of [A-Za-z0-9._:-]),"
              + " or pass a whole --policy file");
    }
    Set<String> fps = new LinkedHashSet<>();
    for (String fp : recipients) {
      fps.add(fingerprint("--recipient", fp));
    }
    if (recipientsFile != null) {
      String text =
          new String(
              CliFiles.read(recipientsFile, "--recipients-file", MAX_RECIPIENTS_FILE),
              StandardCharsets.UTF_8);
      int lineNo = 0;
      for (String line : text.split("\\R")) {
        lineNo++;
        int hash = line.indexOf('#');
        String v = (hash >= 0 ? line.substring(0, hash) : line).strip();
        if (!v.isEmpty()) {
          fps.add(fingerprint("--recipients-file " + recipientsFile + " line " + lineNo, v));
        }
      }
    }
    List<String> anchorList = new ArrayList<>();
    for (Path a : anchors) {
      anchorList.add(anchor(a));
    }
    if (fps.isEmpty() && anchorList.isEmpty()) {
      throw CliException.usage(
          "no recipients: pass --recipient FP, --recipients-file FILE or --anchor PEM");
    }
    Map<String, String> subjectMap = subject == null ? Map.of() : parseSubject(subject);
    if (!subjectMap.isEmpty() && anchorList.isEmpty()) {
      throw CliException.usage(
          "--subject needs at least one --anchor (it selects certificate holders)");
    }
    Instant nb =
        notBefore == null
            ? Instant.now().truncatedTo(ChronoUnit.SECONDS)
            : time("--not-before", notBefore);
    Instant na;
    if (notAfter != null && validFor != null) {
      throw CliException.usage("pass --not-after or --valid-for, not both");
    } else if (notAfter != null) {
      na = time("--not-after", notAfter);
    } else {
      Duration d = Durations.parse("--valid-for", validFor == null ? "30d" : validFor);
      na = nb.plus(d).truncatedTo(ChronoUnit.SECONDS);
    }
    if (na.isBefore(nb)) {
      throw CliException.usage("--not-after " + na + " is before --not-before " + nb);
    }
    int max =
        maxRecipients != null
            ? maxRecipients
            : anchorList.isEmpty()
                ? Math.max(1, fps.size())
                : Math.max(DEFAULT_MAX_WITH_ANCHORS, fps.size());
    try {
      SendPolicy p =
          new SendPolicy(
              SendPolicy.VERSION,
              secretId,
              sender,
              nb,
              na,
              new SendPolicy.RecipientSelector(List.copyOf(fps), anchorList, subjectMap),
              lateRecipients,
              max,
              rsaContent == null ? SendPolicy.CONTENT_AES_256_GCM : rsaContent);
      return p.toJson();
    } catch (IllegalArgumentException e) {
      throw CliException.usage("policy: " + e.getMessage());
    }
  }

  private SendPolicy parsePolicy(byte[] bytes) throws CliException {
    String where = policyFile == null ? "" : "--policy " + policyFile + ": ";
    if (bytes.length > SendPolicy.MAX_BYTES) {
      throw CliException.usage(
          where
              + "the policy is "
              + bytes.length
              + " bytes, over the limit of "
              + SendPolicy.MAX_BYTES
              + " (about "
              + SendPolicy.MAX_BYTES / 67
              + " fingerprints): select large groups"
              + " of recipients with --anchor (and --subject) instead of listing them");
    }
    SendPolicy p;
    try {
      p = SendPolicy.parse(bytes);
    } catch (MalformedInputException e) {
      throw CliException.usage(where + e.getMessage());
    }
    if (p.notBefore().getNano() != 0 || p.notAfter().getNano() != 0) {
      throw CliException.usage(
          where + "not_before and not_after must be whole seconds (deliveries carry seconds)");
    }
    return p;
  }

  private byte[] readSecret() throws CliException {
    byte[] secret;
    if (secretFile != null && secretHex != null) {
      throw CliException.usage("pass --secret-file or --secret-hex, not both");
    } else if (secretFile != null) {
      secret = CliFiles.read(secretFile, "--secret-file", EnclaveApi.MAX_SECRET_BYTES);
    } else if (secretHex != null) {
      String h = secretHex.strip();
      if (h.length() > 2 * EnclaveApi.MAX_SECRET_BYTES || !h.matches("([0-9a-fA-F]{2})*")) {
        throw CliException.usage(
            "--secret-hex: expected an even number of hex digits (at most "
                + EnclaveApi.MAX_SECRET_BYTES
                + " bytes)");
      }
      secret = HexFormat.of().parseHex(h.toLowerCase(Locale.ROOT));
    } else {
      throw CliException.usage(
          "the secret is required: pass --secret-file FILE ('-' for stdin) or --secret-hex HEX");
    }
    if (secret.length == 0) {
      throw CliException.usage(
          "the secret is empty: a secret is 1.." + EnclaveApi.MAX_SECRET_BYTES + " bytes");
    }
    return secret;
  }

  private static String fingerprint(String where, String v) throws CliException {
    String fp = v.strip().toLowerCase(Locale.ROOT);
    if (!Fingerprints.isWellFormed(fp)) {
      throw CliException.usage(
          where
              + ": \""
              + (v.length() > 70 ? v.substring(0, 70) + "..." : v)
              + "\" is not a key fingerprint (64 hex characters; 'keycast recipient keygen' prints it)");
    }
    return fp;
  }

  private static String anchor(Path file) throws CliException {
    byte[] bytes = CliFiles.read(file, "--anchor", 64 * 1024);
    try {
      X509Certificate c =
          (X509Certificate)
              CertificateFactory.getInstance("X.509")
                  .generateCertificate(new ByteArrayInputStream(bytes));
      return Base64.getEncoder().encodeToString(c.getEncoded());
    } catch (CertificateException | RuntimeException e) {
      throw CliException.usage("--anchor " + file + ": not a PEM or DER X.509 certificate");
    }
  }

  static Map<String, String> parseSubject(String s) throws CliException {
    Map<String, String> out = new LinkedHashMap<>();
    for (String part : s.split("(?<!\\\\),")) {
      int eq = part.indexOf('=');
      if (eq <= 0) {
        throw CliException.usage(
            "--subject: \"" + part + "\" is not ATTR=value (e.g. O=Studio,OU=Projectors)");
      }
      String k = part.substring(0, eq).strip().toUpperCase(Locale.ROOT);
      String v = part.substring(eq + 1).strip().replace("\\,", ",");
      if (!k.matches("[A-Z][A-Z0-9]{0,31}|\\d+(\\.\\d+)+") || v.isEmpty()) {
        throw CliException.usage(
            "--subject: \"" + part + "\" is not ATTR=value (e.g. O=Studio,OU=Projectors)");
      }
      if (out.put(k, v) != null) {
        throw CliException.usage("--subject: " + k + " is given twice");
      }
    }
    return out;
  }

  static Instant time(String option, String v) throws CliException {
    if (v.equals("now")) {
      return Instant.now().truncatedTo(ChronoUnit.SECONDS);
    }
    try {
      return Instant.parse(v).truncatedTo(ChronoUnit.SECONDS);
    } catch (DateTimeParseException e) {
      try {
        return LocalDate.parse(v).atStartOfDay(ZoneOffset.UTC).toInstant();
      } catch (DateTimeParseException e2) {
        throw CliException.usage(
            option
                + ": \""
                + v
                + "\" is not 'now', an instant (2026-01-31T12:00:00Z) or a date (2026-01-31)");
      }
    }
  }

  static byte[] sha256(byte[] b) {
    return Sha256.digest(b);
  }

  static byte[] concat(byte[]... parts) {
    int n = 0;
    for (byte[] p : parts) {
      n += p.length;
    }
    byte[] out = new byte[n];
    int o = 0;
    for (byte[] p : parts) {
      System.arraycopy(p, 0, out, o, p.length);
      o += p.length;
    }
    return out;
  }
}
