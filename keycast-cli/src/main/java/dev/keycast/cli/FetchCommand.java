package dev.keycast.cli;

import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.DecryptionFailedException;
import dev.keycast.protocol.Json;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.api.HostApi;
import dev.keycast.protocol.envelope.DeliveryMetadata;
import dev.keycast.protocol.envelope.OpenedDelivery;
import dev.keycast.protocol.keyset.KeyBundle;
import dev.keycast.protocol.receipt.Receipt;
import dev.keycast.protocol.receipt.ReceiptSignatureException;
import dev.keycast.protocol.receipt.ReceiptSigner;
import dev.keycast.protocol.receipt.ReceiptVerifier;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code keycast fetch}: list, download and decrypt every delivery made to one private key. For
 * each delivery id it writes {@code ID.env} (the envelope as delivered), {@code ID.json} (what the
 * sender bound to it) and, last, {@code ID.secret} (mode 0600); a delivery whose {@code .secret}
 * exists is skipped.
 */
@Command(
    name = "fetch",
    mixinStandardHelpOptions = true,
    versionProvider = KeycastCli.Version.class,
    sortOptions = false,
    description = {
      "Download and decrypt the deliveries made to your key. For each delivery ID writes into DIR:"
          + " ID.secret (the secret, mode 0600), ID.json (secret id, sender, validity window, format)"
          + " and ID.env (the raw envelope: RSA users can run 'openssl cms -decrypt -inform DER -in"
          + " ID.env -inkey KEY' themselves). Deliveries already fetched are skipped."
    },
    footer = ExitCodes.HELP)
final class FetchCommand extends KeycastCommand {
  static final int PAGE = 500;

  @Mixin HostOptions hostOptions;

  @Option(
      names = "--key",
      required = true,
      paramLabel = "PEM",
      description = "Your private key (NAME.key.pem from 'keycast recipient keygen', PKCS#8 PEM).")
  Path key;

  @Option(
      names = "--out-dir",
      required = true,
      paramLabel = "DIR",
      description = "Where to write the files (created if needed).")
  Path outDir;

  @Option(
      names = {"--bundle", "--trust-receipts-from"},
      paramLabel = "FILE",
      description =
          "Also require each delivery to be listed, with its envelope's SHA-256, in a receipt"
              + " signed by this attested key bundle ('keycast attest --out-bundle'): proves the enclave, not"
              + " the host, made it. The bundle's attestation document is verified again: needs"
              + " --expect-pcrs (measurements and KMS key).")
  Path bundleFile;

  @Mixin AttestationOptions attestationOptions;

  @Option(
      names = "--expect-sender",
      paramLabel = "FP|PEM",
      description =
          "Accept only deliveries whose receipt names this sender (its fingerprint, or its PEM"
              + " public key file from 'keycast sender keygen'). Repeatable. Needs --bundle.")
  List<String> expectSenders = new ArrayList<>();

  @Option(
      names = "--no-receipt-check",
      description =
          "Open deliveries that no receipt signed by the enclave covers (without --bundle):"
              + " the host could have made them itself, with any sender, for any key.")
  boolean noReceiptCheck;

  /** What the {@code ID.json} file holds. */
  record DeliveryFile(
      String deliveryId,
      String sendId,
      String secretId,
      String sender,
      Instant notBefore,
      Instant notAfter,
      String recipient,
      String format,
      Instant createdAt,
      Instant fetchedAt,
      String envelopeSha256,
      int secretBytes,
      String receiptId,
      String senderKey) {}

  /** Fingerprints of the senders --expect-sender admits. */
  private final java.util.Set<String> expected = new java.util.HashSet<>();

  private KeyBundle bundle;
  private String sessionToken;
  private final Map<String, Optional<Receipt>> receipts = new HashMap<>();

  /** One line of the output. */
  record Fetched(
      String deliveryId, String secretId, String sender, String status, String secretFile) {}

  /** The JSON output. */
  record Result(
      String fingerprint,
      int listed,
      int fetched,
      int alreadyFetched,
      int failed,
      List<Fetched> deliveries) {}

  @Override
  int run() throws CliException, HostException {
    HostClient host = hostOptions.client();
    List<Fetched> rows = new ArrayList<>();
    List<String> failures = new ArrayList<>();
    int fetched = 0;
    int already = 0;
    String fp;
    for (String e : expectSenders) {
      expected.add(
          e.matches("[0-9a-f]{64}")
              ? e
              : SenderSets.readPublic(Path.of(e), "--expect-sender").fingerprint());
    }
    if (bundleFile != null) {
      if (noReceiptCheck) {
        throw CliException.usage("--no-receipt-check and --bundle exclude each other");
      }
      bundle = EnclaveIdentity.verifyStored(bundleFile, "--bundle", attestationOptions.pins());
    } else if (attestationOptions.expectPcrs != null
        || !attestationOptions.expectKmsKeys.isEmpty()) {
      throw CliException.usage(
          "--expect-pcrs and --expect-kms-key check the --bundle file: pass --bundle too");
    } else if (!expected.isEmpty()) {
      throw CliException.usage(
          "--expect-sender checks the sender each receipt names: pass --bundle too");
    } else if (!noReceiptCheck) {
      throw CliException.usage(
          "pass --bundle FILE ('keycast attest --out-bundle') so that only deliveries"
              + " the enclave's receipts cover are opened, or --no-receipt-check to open any");
    }
    try (RecipientPrivateKey pk = RecipientPrivateKey.load(key, "--key")) {
      fp = pk.fingerprint();
      CliFiles.ensureDirectory(outDir, "--out-dir");
      List<HostApi.DeliverySummary> all = list(host, pk);
      try (Progress progress = Progress.start(err(), "fetching deliveries", all.size(), 20)) {
        int done = 0;
        for (HostApi.DeliverySummary s : all) {
          progress.update(done++);
          String id = s.deliveryId();
          if (!fp.equals(s.recipient())) {
            failures.add(id + ": listed for another recipient " + s.recipient());
            continue;
          }
          if (Files.exists(outDir.resolve(id + ".secret"))) {
            already++;
            rows.add(
                new Fetched(
                    id, null, null, "already_fetched", outDir.resolve(id + ".secret").toString()));
            continue;
          }
          try {
            rows.add(fetchOne(host, pk, s));
            fetched++;
          } catch (DecryptionFailedException e) {
            failures.add(id + ": " + e.getMessage());
          } catch (MalformedInputException e) {
            failures.add(id + ": malformed envelope: " + e.getMessage());
          } catch (CliException e) {
            if (e.exitCode() == ExitCodes.IO) {
              throw e;
            }
            failures.add(id + ": " + e.getMessage());
          }
        }
        progress.update(done);
      }
      if (json) {
        printJson(new Result(fp, all.size(), fetched, already, failures.size(), rows));
      } else {
        out().println("recipient:    " + fp + " (" + pk.kind() + ")");
        out()
            .println(
                "deliveries:   "
                    + all.size()
                    + " listed, "
                    + fetched
                    + " fetched, "
                    + already
                    + " already fetched, "
                    + failures.size()
                    + " failed");
        for (Fetched r : rows) {
          if (r.status().equals("fetched")) {
            out()
                .println(
                    "  "
                        + r.deliveryId()
                        + "  "
                        + r.secretId()
                        + (r.sender() == null || r.sender().isEmpty() ? "" : " from " + r.sender())
                        + "  -> "
                        + r.secretFile());
          }
        }
      }
    }
    if (!failures.isEmpty()) {
      throw CliException.verification(
          failures.size()
              + " of "
              + (failures.size() + fetched + already)
              + " deliveries could not be opened: "
              + String.join("; ", failures.subList(0, Math.min(5, failures.size())))
              + (failures.size() > 5 ? "; ..." : ""));
    }
    return ExitCodes.OK;
  }

  /** A call that needs the recipient's session token. */
  private interface Authorized<T> {
    T call(String sessionToken) throws HostException;
  }

  /**
   * Runs {@code call} with this run's session token (api.md 2.2), made on first use and made again
   * once if the host answers {@code session_expired}.
   */
  private <T> T authorized(HostClient host, RecipientPrivateKey pk, Authorized<T> call)
      throws HostException, CliException {
    if (sessionToken == null) {
      sessionToken = host.session(pk);
    }
    try {
      return call.call(sessionToken);
    } catch (HostException e) {
      if (!"session_expired".equals(e.errorCode())) {
        throw e;
      }
      sessionToken = host.session(pk);
      return call.call(sessionToken);
    }
  }

  private List<HostApi.DeliverySummary> list(HostClient host, RecipientPrivateKey pk)
      throws HostException, CliException {
    String fp = pk.fingerprint();
    List<HostApi.DeliverySummary> all = new ArrayList<>();
    String after = null;
    try (Progress p = Progress.start(err(), "listing deliveries", 0, 0)) {
      while (true) {
        String from = after;
        HostApi.DeliveryPage page = authorized(host, pk, t -> host.deliveries(fp, t, from, PAGE));
        if (page.deliveries() != null) {
          all.addAll(page.deliveries());
        }
        p.update(all.size());
        if (page.next() == null
            || page.next().isEmpty()
            || page.deliveries() == null
            || page.deliveries().isEmpty()) {
          return all;
        }
        if (page.next().equals(after)) {
          throw HostException.unreachable(
              "the host's delivery listing does not advance (next = " + after + ")");
        }
        after = page.next();
      }
    }
  }

  /**
   * The id of a receipt, signed by {@link #bundle}, that lists this delivery to this key with this
   * envelope's SHA-256. Looks at the send's receipt (receipt id = send id), then at the receipt of a
   * forward to this key alone (api.md 1.2: send id + "-" + 8 bytes hex of SHA-256 over the delivered
   * fingerprint, taken as its hex text and as its 32 bytes).
   */
  private String receiptCovering(
      HostClient host,
      RecipientPrivateKey pk,
      HostApi.DeliverySummary s,
      String fp,
      byte[] envelope)
      throws HostException, CliException {
    String sendId = HostClient.segment(s.sendId());
    HexFormat hex = HexFormat.of();
    List<String> candidates =
        List.of(
            sendId,
            sendId
                + "-"
                + hex.formatHex(
                    Arrays.copyOf(SendCommand.sha256(fp.getBytes(StandardCharsets.US_ASCII)), 8)),
            sendId + "-" + hex.formatHex(Arrays.copyOf(SendCommand.sha256(hex.parseHex(fp)), 8)));
    byte[] digest = SendCommand.sha256(envelope);
    for (String id : candidates) {
      Optional<Receipt> r = receipts.get(id);
      if (r == null) {
        r = fetchReceipt(host, pk, id);
        receipts.put(id, r);
      }
      if (r.isEmpty()) {
        continue;
      }
      for (Receipt.Delivery d : r.get().deliveries()) {
        if (d.deliveryId().equals(s.deliveryId()) && d.recipientFingerprint().equals(fp)) {
          if (!MessageDigest.isEqual(d.envelopeSha256(), digest)) {
            throw CliException.verification(
                "the envelope differs from the one receipt "
                    + id
                    + " lists (altered by the host?)");
          }
          coveringSender = r.get().sender();
          return id;
        }
      }
    }
    throw CliException.verification(
        "no receipt signed by key set "
            + bundle.keySetId()
            + " lists this delivery (made by the host, not the enclave?)");
  }

  /** The sender the receipt found by the last {@link #receiptCovering} names, or null. */
  private Receipt.Sender coveringSender;

  /**
   * Issue 23: under --expect-sender, the covering receipt names a sender (version 2) among the
   * expected ones, and the delivery's own metadata names the same key.
   */
  private void checkSender(String id, DeliveryMetadata md) throws CliException {
    if (coveringSender != null
        && (md.senderKey() == null || !md.senderKey().equals(coveringSender.key()))) {
      throw CliException.verification("delivery " + id + " names another sender than its receipt");
    }
    if (expected.isEmpty()) {
      return;
    }
    if (coveringSender == null) {
      throw CliException.verification(
          "delivery " + id + ": its receipt names no sender (not from a signed send)");
    }
    String senderFp = senderFingerprint(coveringSender.key());
    if (!expected.contains(senderFp)) {
      throw CliException.verification(
          "delivery "
              + id
              + " comes from sender "
              + senderFp
              + ", not from an expected sender (--expect-sender)");
    }
  }

  private static String senderFingerprint(String rawHex) throws CliException {
    try {
      return new dev.keycast.protocol.sender.SenderKey(HexFormat.of().parseHex(rawHex))
          .fingerprint();
    } catch (IllegalArgumentException e) {
      throw CliException.verification("the receipt names a malformed sender key");
    }
  }

  private Optional<Receipt> fetchReceipt(HostClient host, RecipientPrivateKey pk, String id)
      throws HostException, CliException {
    HostApi.ReceiptView v;
    try {
      // a receipt is answered to the recipients it names, with their session (api.md 2.2)
      v = authorized(host, pk, t -> host.receipt(id, t));
    } catch (HostException e) {
      if ("not_found".equals(e.errorCode())) {
        return Optional.empty();
      }
      throw e;
    }
    try {
      return Optional.of(
          ReceiptVerifier.verify(
              Base64Url.decode("receipt", v.receipt(), ReceiptSigner.MAX_ENCODED), bundle));
    } catch (MalformedInputException | ReceiptSignatureException e) {
      throw CliException.verification(
          "receipt "
              + id
              + " does not verify with key set "
              + bundle.keySetId()
              + ": "
              + e.getMessage());
    }
  }

  private Fetched fetchOne(HostClient host, RecipientPrivateKey pk, HostApi.DeliverySummary s)
      throws HostException, CliException, MalformedInputException, DecryptionFailedException {
    String id = HostClient.segment(s.deliveryId());
    if (id.startsWith(".")) {
      throw CliException.verification(
          "refusing delivery id \"" + id + "\": it would be a hidden file");
    }
    byte[] envelope = authorized(host, pk, t -> host.envelope(id, t));
    coveringSender = null;
    String receiptId =
        bundle == null ? null : receiptCovering(host, pk, s, pk.fingerprint(), envelope);
    OpenedDelivery opened = pk.open(s.format(), envelope);
    byte[] secret = null;
    try {
      DeliveryMetadata md = opened.metadata();
      if (!md.recipientFingerprint().equals(pk.fingerprint())) {
        throw new DecryptionFailedException();
      }
      checkSender(id, md);
      secret = opened.secret();
      DeliveryFile file =
          new DeliveryFile(
              id,
              s.sendId(),
              md.secretId(),
              md.senderLabel(),
              md.notBefore(),
              md.notAfter(),
              md.recipientFingerprint(),
              s.format(),
              s.createdAt(),
              Instant.now(),
              HexFormat.of().formatHex(SendCommand.sha256(envelope)),
              secret.length,
              receiptId,
              md.senderKey() == null ? null : senderFingerprint(md.senderKey()));
      CliFiles.write(outDir.resolve(id + ".env"), envelope, false, true);
      CliFiles.write(outDir.resolve(id + ".json"), Json.encode(file), true, true);
      Path secretFile = outDir.resolve(id + ".secret");
      CliFiles.write(secretFile, secret, true, false);
      return new Fetched(id, md.secretId(), md.senderLabel(), "fetched", secretFile.toString());
    } finally {
      if (secret != null) {
        Arrays.fill(secret, (byte) 0);
      }
      opened.destroy();
    }
  }
}
