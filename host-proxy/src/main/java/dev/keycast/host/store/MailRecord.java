package dev.keycast.host.store;

import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * One queued e-mail of a KDM send to a cinema (issue 25): a row of the mail outbox, keyed by
 * (send, cinema). The message itself (template, zip of the cinema's KDMs of the send) is composed
 * when it is sent, from the stored deliveries; the row holds only what the worker needs to send it
 * again after a restart and what {@code GET /v1/sends/{id}/mail} reports.
 *
 * @param sendId the send whose KDMs are mailed
 * @param cinema the cinema's name
 * @param messageId the RFC 5322 Message-ID without brackets, a function of (send, cinema): every
 *     retry and every resend carries it, so a duplicate is recognisable
 * @param to the addresses, as the cinema had them when the message was queued
 * @param sender the hex Ed25519 key of the sender who queued it (the send's sender)
 * @param state queued, sent or failed
 * @param attempts SMTP attempts made so far
 * @param nextAttemptAt when a queued message is due
 * @param lastError the last SMTP failure (no secret: a reply code and class), or null
 * @param queuedAt when it was (last) queued
 * @param updatedAt when its state last changed
 */
public record MailRecord(
    String sendId,
    String cinema,
    String messageId,
    List<String> to,
    String sender,
    State state,
    int attempts,
    Instant nextAttemptAt,
    String lastError,
    Instant queuedAt,
    Instant updatedAt) {
  /** Longest {@link #lastError}, in characters. */
  public static final int MAX_ERROR = 500;

  /** Longest message id. */
  public static final int MAX_MESSAGE_ID = 128;

  /** Where a message is. */
  public enum State {
    /** Waiting for its (next) attempt. */
    QUEUED,
    /** Accepted by the SMTP server. */
    SENT,
    /** Given up after the last attempt, or refused for good; queued again by a new request. */
    FAILED;

    /** The wire and column form: lowercase. */
    public String wire() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }

    /** The state of a wire form; {@link IllegalArgumentException} when none. */
    public static State ofWire(String s) {
      for (State v : values()) {
        if (v.wire().equals(s)) {
          return v;
        }
      }
      throw new IllegalArgumentException("not a mail state: " + Checks.quote(String.valueOf(s)));
    }
  }

  public MailRecord {
    Checks.id("send id", sendId);
    CinemaRecord.checkName("cinema name", cinema);
    Objects.requireNonNull(messageId, "messageId");
    if (messageId.isEmpty()
        || messageId.length() > MAX_MESSAGE_ID
        || !messageId.matches("[A-Za-z0-9.@_-]+")) {
      throw new IllegalArgumentException(
          "message id must be 1 to " + MAX_MESSAGE_ID + " of [A-Za-z0-9.@_-]");
    }
    to = CinemaRecord.checkEmails(to);
    if (to.isEmpty()) {
      throw new IllegalArgumentException("a mail goes to at least one address");
    }
    if (sender == null || !sender.matches("[0-9a-f]{64}")) {
      throw new IllegalArgumentException("sender must be 64 lowercase hex");
    }
    Objects.requireNonNull(state, "state");
    if (attempts < 0) {
      throw new IllegalArgumentException("negative attempts");
    }
    nextAttemptAt = Checks.millis(Objects.requireNonNull(nextAttemptAt, "nextAttemptAt"));
    if (lastError != null && lastError.length() > MAX_ERROR) {
      lastError = lastError.substring(0, MAX_ERROR);
    }
    queuedAt = Checks.millis(Objects.requireNonNull(queuedAt, "queuedAt"));
    updatedAt = Checks.millis(Objects.requireNonNull(updatedAt, "updatedAt"));
  }

  /** This message queued again (a new request after it failed): no attempt made yet, due now. */
  public MailRecord requeued(List<String> addresses, Instant now) {
    return new MailRecord(
        sendId, cinema, messageId, addresses, sender, State.QUEUED, 0, now, null, now, now);
  }

  /** This message after a failed attempt: due again at {@code next}, or failed for good when null. */
  public MailRecord attemptFailed(String error, Instant next, Instant now) {
    return new MailRecord(
        sendId,
        cinema,
        messageId,
        to,
        sender,
        next == null ? State.FAILED : State.QUEUED,
        attempts + 1,
        next == null ? now : next,
        error,
        queuedAt,
        now);
  }

  /** This message accepted by the SMTP server. */
  public MailRecord sent(Instant now) {
    return new MailRecord(
        sendId, cinema, messageId, to, sender, State.SENT, attempts + 1, now, null, queuedAt, now);
  }
}
