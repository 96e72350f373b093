package dev.keycast.host.server;

import dev.keycast.host.mail.MailTransport;
import dev.keycast.host.mail.OutgoingMail;
import dev.keycast.host.store.ArtefactStore;
import dev.keycast.host.store.CinemaRecord;
import dev.keycast.host.store.MailRecord;
import dev.keycast.host.store.ScreenRecord;
import dev.keycast.host.store.StoreException;
import dev.keycast.host.store.StoredDelivery;
import dev.keycast.protocol.DeliveryIds;
import dev.keycast.protocol.cinema.CinemaException;
import dev.keycast.protocol.cinema.KdmDeliveries;
import dev.keycast.protocol.cinema.KdmFileNames;
import dev.keycast.protocol.cinema.KdmReader;
import dev.keycast.protocol.crypto.Sha256;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The KDM mail worker (issue 25): one background thread that takes due messages from the store's
 * outbox ({@link ArtefactStore#dueMails}), composes each from the stored KDMs of its send for its
 * cinema's screens (template, one zip named by {@link KdmFileNames#zipName}), hands it to the
 * {@link MailTransport}, and records the outcome: sent, or a failed attempt with the next one
 * after a doubling wait ({@link MailSettings#backoff}), failed for good after the last attempt or
 * on a permanent refusal. Bounded: one message at a time, {@value #BATCH} per look.
 *
 * <p>At least once: a message is marked sent only after the server accepted it, so a crash in
 * between sends it again after the restart, with the same Message-ID ({@link #messageId}). Nothing
 * of a KDM, of the message or of the SMTP password is logged.
 */
final class KdmMailer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(KdmMailer.class);

  /** Most messages taken per look at the outbox. */
  static final int BATCH = 16;

  private static final DateTimeFormatter LOCAL =
      DateTimeFormatter.ofPattern("uuuu-MM-dd HH:mm", Locale.ROOT);

  private final ArtefactStore store;
  private final MailSettings settings;
  private final MailTransport transport;
  private final Clock clock;
  private final HostMetrics metrics;
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition woken = lock.newCondition();
  private boolean wake;
  private volatile boolean closed;
  private Thread thread;

  KdmMailer(
      ArtefactStore store,
      MailSettings settings,
      MailTransport transport,
      Clock clock,
      HostMetrics metrics) {
    this.store = Objects.requireNonNull(store, "store");
    this.settings = Objects.requireNonNull(settings, "settings");
    this.transport = Objects.requireNonNull(transport, "transport");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.metrics = Objects.requireNonNull(metrics, "metrics");
  }

  /**
   * The Message-ID of the mail of {@code sendId} to {@code cinema} (without angle brackets):
   * {@code kdm-} and the first 32 hex digits of SHA-256({@code "keycast/v1/kdm-mail" || 0x00 ||
   * sendId || 0x00 || UTF-8(cinema)}) {@code @keycast}; the same for every attempt and request.
   */
  static String messageId(String sendId, String cinema) {
    byte[] digest =
        Sha256.digest(
            "keycast/v1/kdm-mail".getBytes(StandardCharsets.US_ASCII),
            new byte[1],
            sendId.getBytes(StandardCharsets.US_ASCII),
            new byte[1],
            cinema.getBytes(StandardCharsets.UTF_8));
    return "kdm-" + HexFormat.of().formatHex(digest, 0, 16) + "@keycast";
  }

  /** Starts the worker thread (it first sends what an earlier run left queued). */
  synchronized void start() {
    if (thread == null) {
      thread = Thread.ofPlatform().daemon().name("keycast-kdm-mail").start(this::run);
    }
  }

  /** Wakes the worker: a message was queued. */
  void wake() {
    lock.lock();
    try {
      wake = true;
      woken.signalAll();
    } finally {
      lock.unlock();
    }
  }

  /** Stops the worker after the message in hand (queued ones stay queued for the next start). */
  @Override
  public void close() {
    closed = true;
    wake();
    Thread t;
    synchronized (this) {
      t = thread;
    }
    if (t != null) {
      try {
        t.join(settings.smtp() == null ? 5000 : settings.smtp().timeout().toMillis() * 3 + 5000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private void run() {
    while (!closed) {
      int taken = 0;
      try {
        List<MailRecord> due = store.dueMails(clock.instant(), BATCH);
        taken = due.size();
        for (MailRecord m : due) {
          if (closed) {
            return;
          }
          deliver(m);
        }
      } catch (StoreException e) {
        LOG.warn("KDM mail: the outbox cannot be read ({}): tried again later", e.code());
      } catch (RuntimeException e) {
        LOG.error("KDM mail worker: unexpected failure, tried again later", e);
      }
      if (taken < BATCH) {
        await();
      }
    }
  }

  private void await() {
    lock.lock();
    try {
      long nanos = settings.poll().toNanos();
      while (!wake && !closed && nanos > 0) {
        nanos = woken.awaitNanos(nanos);
      }
      wake = false;
    } catch (InterruptedException e) {
      closed = true;
      Thread.currentThread().interrupt();
    } finally {
      lock.unlock();
    }
  }

  /** Sends one due message and records the outcome. */
  void deliver(MailRecord m) throws StoreException {
    OutgoingMail mail;
    try {
      mail = compose(m);
    } catch (MailTransport.Failure f) {
      record(m, f);
      return;
    }
    try {
      transport.send(mail);
    } catch (MailTransport.Failure f) {
      record(m, f);
      return;
    }
    store.updateMail(m.sent(clock.instant()));
    metrics.inc("keycast_host_kdm_mails_total", "KDM mail attempts by result", "result", "sent");
    LOG.info(
        "KDM mail {} of send {} to cinema {} sent (a zip of {} bytes, attempt {})",
        m.messageId(),
        m.sendId(),
        m.cinema(),
        mail.attachment().length,
        m.attempts() + 1);
  }

  private void record(MailRecord m, MailTransport.Failure f) throws StoreException {
    Instant now = clock.instant();
    int attempts = m.attempts() + 1;
    Instant next =
        f.permanent() || attempts >= settings.maxAttempts()
            ? null
            : now.plus(settings.backoff(attempts));
    store.updateMail(m.attemptFailed(f.getMessage(), next, now));
    metrics.inc(
        "keycast_host_kdm_mails_total",
        "KDM mail attempts by result",
        "result",
        next == null ? "failed" : "retry");
    if (next == null) {
      LOG.warn(
          "KDM mail {} of send {} to cinema {} failed for good after attempt {}: {}",
          m.messageId(),
          m.sendId(),
          m.cinema(),
          attempts,
          f.getMessage());
    } else {
      LOG.info(
          "KDM mail {} of send {} to cinema {}: attempt {} failed ({}), next at {}",
          m.messageId(),
          m.sendId(),
          m.cinema(),
          attempts,
          f.getMessage(),
          next);
    }
  }

  /** The message of {@code m}: the send's KDMs of the cinema's screens, zipped, and the filled template. */
  OutgoingMail compose(MailRecord m) throws StoreException, MailTransport.Failure {
    Optional<CinemaRecord> cinema = store.getCinema(m.cinema());
    ZoneOffset zone = ZoneOffset.of(cinema.map(CinemaRecord::utcOffset).orElse(CinemaRecord.UTC));
    KdmZip zip = new KdmZip(settings.maxAttachmentBytes());
    List<String> screens = new ArrayList<>();
    KdmReader.UnverifiedNames names = null;
    String after = null;
    try {
      while (true) {
        List<ScreenRecord> page = store.listScreens(m.cinema(), after, ArtefactStore.MAX_PAGE);
        for (ScreenRecord s : page) {
          Optional<StoredDelivery> d =
              store.getDelivery(DeliveryIds.of(m.sendId(), s.fingerprint()));
          if (d.isEmpty() || !KdmDeliveries.FORMAT_ID.equals(d.get().delivery().formatId())) {
            continue;
          }
          byte[] kdm = d.get().delivery().envelope();
          String label = s.screenName() != null ? s.screenName() : s.thumbprintUrl();
          zip.addKdm(kdm, m.cinema(), label, zone, d.get().deliveryId());
          screens.add(label);
          if (names == null) {
            try {
              names = KdmReader.readUnverifiedNames(kdm);
            } catch (CinemaException e) {
              // named by the next KDM that parses
            }
          }
        }
        if (page.size() < ArtefactStore.MAX_PAGE) {
          break;
        }
        after = page.getLast().thumbprint();
      }
    } catch (ApiException e) {
      throw new MailTransport.Failure(
          "the cinema's KDMs of the send exceed "
              + settings.maxAttachmentBytes()
              + " bytes: fetch them instead",
          true);
    }
    if (zip.files() == 0 || names == null) {
      throw new MailTransport.Failure("no readable KDM of the send for the cinema's screens", true);
    }
    String zipName =
        KdmFileNames.zipName(
            names.contentTitle(),
            m.cinema(),
            names.notValidBefore(),
            names.notValidAfter(),
            zone,
            names.cplId());
    Map<String, String> values = new LinkedHashMap<>();
    values.put("title", names.contentTitle());
    values.put("cinema", m.cinema());
    values.put("screens", String.join(", ", screens));
    values.put("not_before", LOCAL.format(names.notValidBefore().withOffsetSameInstant(zone)));
    values.put("not_after", LOCAL.format(names.notValidAfter().withOffsetSameInstant(zone)));
    values.put("utc_offset", zone.getId().equals("Z") ? "+00:00" : zone.getId());
    values.put("cpl_id", "urn:uuid:" + names.cplId());
    values.put("send_id", m.sendId());
    values.put("kdm_count", Integer.toString(zip.files()));
    values.put("zip_name", zipName);
    values.put("sender_from", settings.smtp() == null ? "" : settings.smtp().from());
    return new OutgoingMail(
        m.messageId(),
        m.to(),
        settings.template().subject(values),
        settings.template().body(values),
        zipName,
        KdmArchives.ZIP_TYPE,
        zip.finish());
  }
}
