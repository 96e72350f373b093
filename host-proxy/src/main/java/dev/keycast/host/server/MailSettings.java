package dev.keycast.host.server;

import dev.keycast.host.mail.MailTemplate;
import dev.keycast.host.mail.SmtpSettings;
import java.time.Duration;
import java.util.Objects;

/**
 * The host's KDM mail settings (issue 25, operations.md): the SMTP server (null: no mail, the mail
 * route answers {@code mail_not_configured}), the template, and the worker's retry schedule.
 *
 * @param smtp the SMTP server, or null
 * @param template the message template
 * @param retryBase the wait after the first failed attempt (doubled after each further one)
 * @param retryMax the longest wait between attempts
 * @param maxAttempts attempts before a message is failed for good
 * @param poll how often the worker looks for due messages when nothing woke it
 * @param maxAttachmentBytes most bytes of KDMs one message carries (a larger zip fails for good)
 */
public record MailSettings(
    SmtpSettings smtp,
    MailTemplate template,
    Duration retryBase,
    Duration retryMax,
    int maxAttempts,
    Duration poll,
    long maxAttachmentBytes) {
  /** Default most bytes of KDMs in one message: below the usual 25 MB limit of mail servers. */
  public static final long DEFAULT_MAX_ATTACHMENT = 16L << 20;

  public MailSettings {
    Objects.requireNonNull(template, "template");
    Objects.requireNonNull(retryBase, "retryBase");
    Objects.requireNonNull(retryMax, "retryMax");
    Objects.requireNonNull(poll, "poll");
    if (retryBase.isNegative() || retryBase.isZero() || retryMax.compareTo(retryBase) < 0) {
      throw new IllegalArgumentException(
          "retry waits must be positive, the longest at least the first");
    }
    if (maxAttempts < 1 || maxAttempts > 100) {
      throw new IllegalArgumentException("mail attempts must be 1..100");
    }
    if (poll.isNegative() || poll.isZero()) {
      throw new IllegalArgumentException("the mail poll interval must be positive");
    }
    if (maxAttachmentBytes < 1 || maxAttachmentBytes > KdmZip.MAX_KDM_BYTES) {
      throw new IllegalArgumentException(
          "most attachment bytes must be 1.." + KdmZip.MAX_KDM_BYTES);
    }
  }

  /** No mail. */
  public static MailSettings none() {
    return of(null, MailTemplate.DEFAULT);
  }

  /**
   * Mail through {@code smtp} with {@code template}: retries after 30 s, doubling up to 30 min, 12
   * attempts (about 3 h), a look for due messages every 5 s.
   */
  public static MailSettings of(SmtpSettings smtp, MailTemplate template) {
    return new MailSettings(
        smtp,
        template,
        Duration.ofSeconds(30),
        Duration.ofMinutes(30),
        12,
        Duration.ofSeconds(5),
        DEFAULT_MAX_ATTACHMENT);
  }

  /** These settings with another retry schedule. */
  public MailSettings withRetries(Duration base, Duration max, int attempts, Duration pollEvery) {
    return new MailSettings(smtp, template, base, max, attempts, pollEvery, maxAttachmentBytes);
  }

  /** Whether mail is configured. */
  public boolean enabled() {
    return smtp != null;
  }

  /** The wait after the {@code attempts}-th failed attempt: base doubled per earlier failure, capped. */
  Duration backoff(int attempts) {
    Duration d = retryBase;
    for (int i = 1; i < attempts && d.compareTo(retryMax) < 0; i++) {
      d = d.multipliedBy(2);
    }
    return d.compareTo(retryMax) > 0 ? retryMax : d;
  }
}
