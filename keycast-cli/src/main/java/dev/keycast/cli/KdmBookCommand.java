package dev.keycast.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.Json;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.api.HostApi;
import dev.keycast.protocol.booking.KdmBooking;
import dev.keycast.protocol.policy.SendPolicy;
import dev.keycast.protocol.receipt.Receipt;
import dev.keycast.protocol.receipt.ReceiptVerifier;
import dev.keycast.protocol.sender.BookingStatement;
import dev.keycast.protocol.sender.SenderSigningKey;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code keycast kdm book} (issue 25, wire-format.md section 11.2): a distributor books KDMs of a
 * CPL from its ingested DKDM for (screen, window) rows, one at a time ({@code --screen} with
 * {@code --not-before}/{@code --not-after}) or in bulk ({@code --bookings FILE}, CSV or JSON). Rows
 * with the same window go in one signed booking (at most {@link KdmBooking#MAX_SCREENS} screens
 * each). Each row is answered with its KDM's delivery id or its refusal: the enclave's reason for
 * a screen the studio's rules exclude, the whole booking's code when the enclave refused it (a
 * window outside the DKDM's or past the studio's latest end, say), or {@code unknown_screen}. Every
 * receipt is verified under the attested key bundle before anything is printed.
 */
@Command(
    name = "book",
    mixinStandardHelpOptions = true,
    versionProvider = KeycastCli.Version.class,
    sortOptions = false,
    description = {
      "Book KDMs of --cpl from its ingested DKDM, under the studio's rules: for --screen THUMBPRINT..."
          + " in the window --not-before..--not-after, or for the rows of --bookings FILE (CSV lines"
          + " THUMBPRINT[,NOT_BEFORE,NOT_AFTER] or CINEMA,SCREEN[,NOT_BEFORE,NOT_AFTER], rows without a window"
          + " taking --not-before/--not-after; or a JSON array of"
          + " {\"thumbprint\"|\"cinema\"+\"screen\", \"not_before\", \"not_after\"}). Fetch the KDMs"
          + " with 'keycast kdm fetch'.",
      "Exits 0 when every booking was answered (rows may still be refused one by one: see each line);"
          + " 2 usage; 3 a file unreadable; 4 a booking refused as a whole (its rows name the code) or a"
          + " receipt that does not verify; 5 unreachable."
    },
    footer = ExitCodes.HELP)
final class KdmBookCommand extends KeycastCommand {
  /** Largest bookings file. */
  static final int MAX_BOOKINGS_FILE = 4 << 20;

  @Mixin HostOptions hostOptions;
  @Mixin AttestationOptions attestationOptions;

  @Option(
      names = "--cpl",
      required = true,
      paramLabel = "UUID",
      description = "The CPL id (urn:uuid: prefix allowed).")
  String cpl;

  @Option(
      names = "--screen",
      paramLabel = "THUMBPRINT",
      description = "A screen to book, by thumbprint. Repeatable.")
  List<String> screens = new ArrayList<>();

  @Option(
      names = "--bookings",
      paramLabel = "FILE",
      description = "Bookings in bulk, CSV or JSON (see above).")
  Path bookings;

  @Option(
      names = "--not-before",
      paramLabel = "TIME",
      description =
          "Start of the KDM window for --screen and for bookings rows without one: an instant"
              + " 2026-01-31T12:00:00Z or a date (UTC).")
  String notBefore;

  @Option(
      names = "--not-after",
      paramLabel = "TIME",
      description = "End of the KDM window (as --not-before).")
  String notAfter;

  @Option(
      names = "--formulation",
      paramLabel = "NAME",
      description =
          "Absent (default): the studio's rules' KDM options. Given, it must be theirs (with"
              + " --content-authenticator): modified-transitional-1, multiple-modified-transitional-1, dci-any, dci-specific.")
  String formulation;

  @Option(
      names = "--content-authenticator",
      paramLabel = "THUMBPRINT",
      description =
          "dci-any and dci-specific: base64 SHA-1 thumbprint of the CPL signer's certificate.")
  String contentAuthenticator;

  @Option(
      names = "--sender-key",
      required = true,
      paramLabel = "FILE",
      description = "Your PEM Ed25519 sender key (a sender of the key set's sender set).")
  Path senderKey;

  /** One row to book. */
  record Row(
      String thumbprint, String cinema, String screen, Instant notBefore, Instant notAfter) {}

  /** One row's answer, as printed. */
  record Outcome(
      String thumbprint,
      String cinema,
      String screen,
      Instant notBefore,
      Instant notAfter,
      String bookingId,
      String result,
      String deliveryId,
      String reason,
      String message) {}

  @Override
  int run() throws CliException, HostException {
    UUID cplId = KdmSendCommand.uuid("--cpl", cpl);
    SendPolicy.KdmRules kdm = null; // the studio's rules' options
    if (formulation != null || contentAuthenticator != null) {
      try {
        kdm = new SendPolicy.KdmRules(formulation, null, contentAuthenticator, null);
      } catch (IllegalArgumentException e) {
        throw CliException.usage(e.getMessage());
      }
    }
    HostClient host = hostOptions.client();
    EnclaveIdentity id =
        EnclaveIdentity.verifyEnclave(host, attestationOptions.pins(), new SecureRandom());
    List<Outcome> outcomes = new ArrayList<>();
    boolean refusedWhole = false;
    try (SenderSigningKey key = SenderSets.readPrivate(senderKey, "--sender-key")) {
      Map<String, HostApi.Screen> known = screens(host, key);
      List<Row> rows = rows(known);
      Map<List<Instant>, List<Row>> byWindow = new LinkedHashMap<>();
      for (Row r : rows) {
        byWindow
            .computeIfAbsent(List.of(r.notBefore(), r.notAfter()), w -> new ArrayList<>())
            .add(r);
      }
      for (Map.Entry<List<Instant>, List<Row>> w : byWindow.entrySet()) {
        List<Row> group = w.getValue();
        for (int i = 0; i < group.size(); i += KdmBooking.MAX_SCREENS) {
          List<Row> part = group.subList(i, Math.min(group.size(), i + KdmBooking.MAX_SCREENS));
          refusedWhole |= book(host, id, key, cplId, kdm, part, known, outcomes);
        }
      }
    }
    if (json) {
      printJson(outcomes);
    } else {
      var o = out();
      for (Outcome x : outcomes) {
        String who =
            x.thumbprint()
                + (x.cinema() == null ? "" : " (" + x.cinema() + " / " + x.screen() + ")");
        String what =
            "issued".equals(x.result())
                ? "issued  " + x.deliveryId()
                : "refused " + x.reason() + ": " + x.message();
        o.println(
            (x.bookingId() == null ? "-" : x.bookingId())
                + "  "
                + who
                + "  "
                + x.notBefore()
                + ".."
                + x.notAfter()
                + "  "
                + what);
      }
      long issued = outcomes.stream().filter(x -> "issued".equals(x.result())).count();
      o.println(
          "booked: "
              + issued
              + " KDM"
              + (issued == 1 ? "" : "s")
              + " issued, "
              + (outcomes.size() - issued)
              + " refused (key set "
              + id.bundle().keySetId()
              + ", attestation and receipts verified)");
    }
    return refusedWhole ? ExitCodes.HOST_ERROR : ExitCodes.OK;
  }

  /** Books one group (one window); returns true when the booking was refused as a whole. */
  private boolean book(
      HostClient host,
      EnclaveIdentity id,
      SenderSigningKey key,
      UUID cplId,
      SendPolicy.KdmRules kdm,
      List<Row> part,
      Map<String, HostApi.Screen> known,
      List<Outcome> outcomes)
      throws CliException, HostException {
    Row first = part.getFirst();
    byte[] booking;
    try {
      booking =
          new KdmBooking(
                  KdmBooking.VERSION,
                  id.bundle().keySetId(),
                  "urn:uuid:" + cplId,
                  part.stream().map(Row::thumbprint).toList(),
                  first.notBefore(),
                  first.notAfter(),
                  kdm)
              .encode();
    } catch (IllegalArgumentException e) {
      throw CliException.usage(
          "booking " + first.notBefore() + ".." + first.notAfter() + ": " + e.getMessage());
    }
    Instant ts = Instant.now().truncatedTo(ChronoUnit.SECONDS);
    BookingStatement statement =
        BookingStatement.of(id.bundle().keySetId(), booking, ts, key.publicKey());
    byte[] sig = statement.sign(key);
    HostApi.BookingResult r;
    try {
      r =
          host.postSigned(
              "/v1/bookings",
              new HostApi.BookingRequest(
                  Base64Url.encode(booking),
                  new EnclaveApi.SenderSignature(
                      Base64Url.encode(key.publicKey().raw()),
                      ts.getEpochSecond(),
                      Base64Url.encode(sig))),
              key,
              HostClient.MAX_SEND_RESULT_BYTES,
              HostApi.BookingResult.class);
    } catch (HostException e) {
      if (e.errorCode() == null || e.status() >= 500) {
        throw e;
      }
      for (Row row : part) {
        outcomes.add(
            new Outcome(
                row.thumbprint(),
                row.cinema(),
                row.screen(),
                row.notBefore(),
                row.notAfter(),
                null,
                "refused",
                null,
                e.errorCode(),
                e.getMessage()));
      }
      return true;
    }
    if (!statement.bookingId().equals(r.bookingId())) {
      throw CliException.verification(
          "the host answered booking " + r.bookingId() + " for booking " + statement.bookingId());
    }
    Receipt receipt;
    try {
      receipt =
          ReceiptVerifier.verify(
              Base64Url.decode("receipt", r.receipt(), HostClient.MAX_RECEIPT_VIEW_BYTES),
              id.bundle());
    } catch (Exception e) {
      throw CliException.verification(
          "booking "
              + r.bookingId()
              + ": the receipt does not verify under the attested"
              + " key bundle ("
              + e.getMessage()
              + ")");
    }
    if (!receipt.sendId().equals(r.bookingId())
        || receipt.sender() == null
        || !receipt.sender().key().equals(HexFormat.of().formatHex(key.publicKey().raw()))) {
      throw CliException.verification(
          "booking " + r.bookingId() + ": the receipt is not this booking's");
    }
    Map<String, Receipt.Delivery> delivered = new HashMap<>();
    for (Receipt.Delivery d : receipt.deliveries()) {
      delivered.put(d.recipientFingerprint(), d);
    }
    Map<String, Receipt.Skipped> skipped = new HashMap<>();
    for (Receipt.Skipped s : receipt.skipped()) {
      skipped.put(s.recipientFingerprint(), s);
    }
    for (Row row : part) {
      HostApi.Screen s = known.get(row.thumbprint());
      Receipt.Delivery d = s == null ? null : delivered.get(s.fingerprint());
      Receipt.Skipped k = s == null ? null : skipped.get(s.fingerprint());
      if (d != null) {
        outcomes.add(
            new Outcome(
                row.thumbprint(),
                row.cinema(),
                row.screen(),
                row.notBefore(),
                row.notAfter(),
                r.bookingId(),
                "issued",
                d.deliveryId(),
                null,
                null));
      } else if (k != null) {
        outcomes.add(
            new Outcome(
                row.thumbprint(),
                row.cinema(),
                row.screen(),
                row.notBefore(),
                row.notAfter(),
                r.bookingId(),
                "refused",
                null,
                k.reasonCode(),
                k.message()));
      } else {
        outcomes.add(
            new Outcome(
                row.thumbprint(),
                row.cinema(),
                row.screen(),
                row.notBefore(),
                row.notAfter(),
                r.bookingId(),
                "refused",
                null,
                "unknown_screen",
                "the host has no registered screen with this thumbprint"));
      }
    }
    return false;
  }

  /** Every registered screen, by thumbprint (GET /v1/screens, paged). */
  private static Map<String, HostApi.Screen> screens(HostClient host, SenderSigningKey key)
      throws HostException {
    Map<String, HostApi.Screen> out = new HashMap<>();
    String next = null;
    do {
      HostApi.ScreenPage page =
          host.getSigned(
              "/v1/screens"
                  + (next == null
                      ? ""
                      : "?after=" + java.net.URLEncoder.encode(next, StandardCharsets.UTF_8)),
              key,
              HostClient.MAX_SMALL_BYTES,
              HostApi.ScreenPage.class);
      for (HostApi.Screen s : page.screens()) {
        out.put(s.thumbprint(), s);
      }
      next = page.next();
    } while (next != null && out.size() < 1_000_000);
    return out;
  }

  private List<Row> rows(Map<String, HostApi.Screen> known) throws CliException {
    if ((bookings == null) == screens.isEmpty()) {
      throw CliException.usage(
          "pass either --screen THUMBPRINT... (with --not-before and --not-after) or --bookings FILE");
    }
    List<Row> rows = new ArrayList<>();
    if (bookings == null) {
      if (notBefore == null || notAfter == null) {
        throw CliException.usage("--screen needs --not-before and --not-after");
      }
      Instant nb = SendCommand.time("--not-before", notBefore);
      Instant na = SendCommand.time("--not-after", notAfter);
      for (String t : screens) {
        rows.add(row(t.strip(), null, null, nb, na, known, "--screen"));
      }
      return rows;
    }
    String text =
        new String(CliFiles.read(bookings, "--bookings", MAX_BOOKINGS_FILE), StandardCharsets.UTF_8)
            .strip();
    if (text.startsWith("[")) {
      JsonNode array;
      try {
        array = Json.mapper().readTree(text);
      } catch (java.io.IOException e) {
        throw CliException.usage("--bookings " + bookings + ": not a JSON array of bookings");
      }
      int i = 0;
      for (JsonNode n : array) {
        String where = "--bookings " + bookings + " [" + i++ + "]";
        rows.add(
            row(
                text(n, "thumbprint"),
                text(n, "cinema"),
                text(n, "screen"),
                SendCommand.time(
                    where + " not_before", windowOf(n, "not_before", notBefore, where)),
                SendCommand.time(where + " not_after", windowOf(n, "not_after", notAfter, where)),
                known,
                where));
      }
    } else {
      int line = 0;
      for (String l : text.split("\r?\n")) {
        line++;
        String s = l.strip();
        if (s.isEmpty() || s.startsWith("#")) {
          continue;
        }
        String where = "--bookings " + bookings + " line " + line;
        String[] f = s.split(",", -1);
        if (f.length <= 2 && (notBefore == null || notAfter == null)) {
          throw CliException.usage(
              where + ": a row without its window needs --not-before and --not-after");
        }
        if (f.length == 1) {
          rows.add(
              row(
                  f[0].strip(),
                  null,
                  null,
                  SendCommand.time("--not-before", notBefore),
                  SendCommand.time("--not-after", notAfter),
                  known,
                  where));
        } else if (f.length == 2) {
          rows.add(
              row(
                  null,
                  f[0].strip(),
                  f[1].strip(),
                  SendCommand.time("--not-before", notBefore),
                  SendCommand.time("--not-after", notAfter),
                  known,
                  where));
        } else if (f.length == 3) {
          rows.add(
              row(
                  f[0].strip(),
                  null,
                  null,
                  SendCommand.time(where, f[1].strip()),
                  SendCommand.time(where, f[2].strip()),
                  known,
                  where));
        } else if (f.length == 4) {
          rows.add(
              row(
                  null,
                  f[0].strip(),
                  f[1].strip(),
                  SendCommand.time(where, f[2].strip()),
                  SendCommand.time(where, f[3].strip()),
                  known,
                  where));
        } else {
          throw CliException.usage(
              where
                  + ": expected THUMBPRINT[,NOT_BEFORE,NOT_AFTER] or"
                  + " CINEMA,SCREEN[,NOT_BEFORE,NOT_AFTER]");
        }
      }
    }
    if (rows.isEmpty()) {
      throw CliException.usage("--bookings " + bookings + " holds no booking");
    }
    return rows;
  }

  /** A row by thumbprint, or by cinema and screen name resolved among {@code known}. */
  private static Row row(
      String thumbprint,
      String cinema,
      String screen,
      Instant nb,
      Instant na,
      Map<String, HostApi.Screen> known,
      String where)
      throws CliException {
    if (thumbprint == null || thumbprint.isEmpty()) {
      if (cinema == null || screen == null) {
        throw CliException.usage(where + ": name a screen by thumbprint, or by cinema and screen");
      }
      for (HostApi.Screen s : known.values()) {
        if (cinema.equals(s.cinema()) && screen.equals(s.screen())) {
          return new Row(s.thumbprint(), cinema, screen, nb, na);
        }
      }
      throw CliException.usage(
          where + ": the host has no screen \"" + screen + "\" in cinema \"" + cinema + "\"");
    }
    if (!SendPolicy.isWellFormedThumbprint(thumbprint)) {
      throw CliException.usage(
          where
              + ": \""
              + thumbprint
              + "\" is not a certificate thumbprint (28 characters of base64)");
    }
    HostApi.Screen s = known.get(thumbprint);
    return new Row(
        thumbprint, s == null ? null : s.cinema(), s == null ? null : s.screen(), nb, na);
  }

  private static String text(JsonNode n, String field) {
    JsonNode v = n.get(field);
    return v == null || v.isNull() ? null : v.asText();
  }

  /** The row's {@code field}, else {@code fallback} (the command's option), else a usage error. */
  private static String windowOf(JsonNode n, String field, String fallback, String where)
      throws CliException {
    String v = text(n, field);
    if (v == null && fallback == null) {
      throw CliException.usage(
          where + ": " + field + " is missing (or pass --not-before and --not-after)");
    }
    return v == null ? fallback : v;
  }
}
