package dev.keycast.cli;

import dev.keycast.protocol.DecryptionFailedException;
import dev.keycast.protocol.Json;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.api.HostApi;
import dev.keycast.protocol.envelope.DeliveryMetadata;
import dev.keycast.protocol.envelope.OpenedDelivery;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
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

  @Option(names = "--key", required = true, paramLabel = "PEM",
      description = "Your private key (NAME.key.pem from 'keycast recipient keygen', PKCS#8 PEM).")
  Path key;

  @Option(names = "--out-dir", required = true, paramLabel = "DIR",
      description = "Where to write the files (created if needed).")
  Path outDir;

  /** What the {@code ID.json} file holds. */
  record DeliveryFile(String deliveryId, String sendId, String secretId, String sender, Instant notBefore,
      Instant notAfter, String recipient, String format, Instant createdAt, Instant fetchedAt,
      String envelopeSha256, int secretBytes) {}

  /** One line of the output. */
  record Fetched(String deliveryId, String secretId, String sender, String status, String secretFile) {}

  /** The JSON output. */
  record Result(String fingerprint, int listed, int fetched, int alreadyFetched, int failed,
      List<Fetched> deliveries) {}

  @Override
  int run() throws CliException, HostException {
    HostClient host = hostOptions.client();
    List<Fetched> rows = new ArrayList<>();
    List<String> failures = new ArrayList<>();
    int fetched = 0;
    int already = 0;
    String fp;
    try (RecipientPrivateKey pk = RecipientPrivateKey.load(key, "--key")) {
      fp = pk.fingerprint();
      CliFiles.ensureDirectory(outDir, "--out-dir");
      List<HostApi.DeliverySummary> all = list(host, fp);
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
            rows.add(new Fetched(id, null, null, "already_fetched", outDir.resolve(id + ".secret").toString()));
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
        out().println("deliveries:   " + all.size() + " listed, " + fetched + " fetched, " + already
            + " already fetched, " + failures.size() + " failed");
        for (Fetched r : rows) {
          if (r.status().equals("fetched")) {
            out().println("  " + r.deliveryId() + "  " + r.secretId() + (r.sender() == null || r.sender().isEmpty()
                ? "" : " from " + r.sender()) + "  -> " + r.secretFile());
          }
        }
      }
    }
    if (!failures.isEmpty()) {
      throw CliException.verification(failures.size() + " of " + (failures.size() + fetched + already)
          + " deliveries could not be opened: " + String.join("; ", failures.subList(0, Math.min(5, failures.size())))
          + (failures.size() > 5 ? "; ..." : ""));
    }
    return ExitCodes.OK;
  }

  private List<HostApi.DeliverySummary> list(HostClient host, String fp) throws HostException {
    List<HostApi.DeliverySummary> all = new ArrayList<>();
    String after = null;
    try (Progress p = Progress.start(err(), "listing deliveries", 0, 0)) {
      while (true) {
        HostApi.DeliveryPage page = host.deliveries(fp, after, PAGE);
        if (page.deliveries() != null) {
          all.addAll(page.deliveries());
        }
        p.update(all.size());
        if (page.next() == null || page.next().isEmpty() || page.deliveries() == null || page.deliveries().isEmpty()) {
          return all;
        }
        if (page.next().equals(after)) {
          throw HostException.unreachable("the host's delivery listing does not advance (next = " + after + ")");
        }
        after = page.next();
      }
    }
  }

  private Fetched fetchOne(HostClient host, RecipientPrivateKey pk, HostApi.DeliverySummary s)
      throws HostException, CliException, MalformedInputException, DecryptionFailedException {
    String id = HostClient.segment(s.deliveryId());
    if (id.startsWith(".")) {
      throw CliException.verification("refusing delivery id \"" + id + "\": it would be a hidden file");
    }
    byte[] envelope = host.envelope(id);
    OpenedDelivery opened = pk.open(s.format(), envelope);
    byte[] secret = null;
    try {
      DeliveryMetadata md = opened.metadata();
      if (!md.recipientFingerprint().equals(pk.fingerprint())) {
        throw new DecryptionFailedException();
      }
      secret = opened.secret();
      DeliveryFile file = new DeliveryFile(id, s.sendId(), md.secretId(), md.senderLabel(), md.notBefore(),
          md.notAfter(), md.recipientFingerprint(), s.format(), s.createdAt(), Instant.now(),
          HexFormat.of().formatHex(SendCommand.sha256(envelope)), secret.length);
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
