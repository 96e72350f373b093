package dev.keycast.host.store;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * The S3 store's mail outbox: one object per (send, cinema) KDM mail. The {@link S3ArtefactStore}
 * checks that it is open and delegates here.
 */
final class S3MailOutbox {
  private final S3Objects objects;
  private final S3RecordCodec codec;

  S3MailOutbox(S3Objects objects, S3RecordCodec codec) {
    this.objects = objects;
    this.codec = codec;
  }

  MailRecord queueMail(MailRecord m) throws StoreException {
    String key = S3Layout.mail(m.sendId(), m.cinema());
    if (objects.put(key, codec.encode(codec.mail(m)), true)) {
      return m;
    }
    return readMail(key)
        .orElseThrow(
            () ->
                new StoreException(
                    StoreException.Code.STORE_UNAVAILABLE, key + " exists and cannot be read"));
  }

  void updateMail(MailRecord m) throws StoreException {
    String key = S3Layout.mail(m.sendId(), m.cinema());
    if (readMail(key).isEmpty()) {
      throw new StoreException(
          StoreException.Code.NOT_FOUND,
          "no mail of send " + m.sendId() + " to cinema " + Checks.quote(m.cinema()));
    }
    objects.put(key, codec.encode(codec.mail(m)), false);
  }

  List<MailRecord> mailsOfSend(String sendId) throws StoreException {
    Checks.id("send id", sendId);
    List<MailRecord> out = new ArrayList<>();
    for (String key : objects.list(S3Layout.mailsOfSend(sendId), null, ArtefactStore.MAX_PAGE)) {
      readMail(key).ifPresent(out::add);
    }
    out.sort(Comparator.comparing(MailRecord::cinema));
    return out;
  }

  /** Scans the outbox (S3 has no index by due time: the outbox holds one object per (send, cinema)). */
  List<MailRecord> dueMails(Instant now, int limit) throws StoreException {
    int n = Math.min(Math.max(limit, 1), ArtefactStore.MAX_PAGE);
    List<MailRecord> due = new ArrayList<>();
    String after = null;
    while (true) {
      List<String> page = objects.list(S3Layout.MAIL, after, ArtefactStore.MAX_PAGE);
      for (String key : page) {
        Optional<MailRecord> m = readMail(key);
        if (m.isPresent()
            && m.get().state() == MailRecord.State.QUEUED
            && !m.get().nextAttemptAt().isAfter(now)) {
          due.add(m.get());
        }
      }
      if (page.size() < ArtefactStore.MAX_PAGE) {
        break;
      }
      after = page.getLast();
    }
    due.sort(
        Comparator.comparing(MailRecord::nextAttemptAt)
            .thenComparing(MailRecord::sendId)
            .thenComparing(MailRecord::cinema));
    return List.copyOf(due.subList(0, Math.min(n, due.size())));
  }

  private Optional<MailRecord> readMail(String key) throws StoreException {
    Optional<byte[]> body = objects.get(key, S3Objects.MAX_SMALL_OBJECT);
    if (body.isEmpty()) {
      return Optional.empty();
    }
    MailRecord m = S3RecordCodec.mail(key, codec.decode(key, body.get()));
    if (!key.equals(S3Layout.mail(m.sendId(), m.cinema()))) {
      throw new StoreException(StoreException.Code.STORE_CORRUPT, key + " names another mail");
    }
    return Optional.of(m);
  }
}
