package dev.keycast.host.mail;

import java.util.List;
import java.util.Objects;

/**
 * One composed e-mail: a text body and one attachment.
 *
 * @param messageId the Message-ID without angle brackets
 * @param to the recipients
 * @param subject the subject (one line)
 * @param body the plain-text body
 * @param attachmentName the attachment's file name
 * @param attachmentType its content type
 * @param attachment its bytes (not copied: the caller hands them over)
 */
public record OutgoingMail(
    String messageId,
    List<String> to,
    String subject,
    String body,
    String attachmentName,
    String attachmentType,
    byte[] attachment) {
  public OutgoingMail {
    Objects.requireNonNull(messageId, "messageId");
    to = List.copyOf(to);
    Objects.requireNonNull(subject, "subject");
    if (subject.indexOf('\r') >= 0 || subject.indexOf('\n') >= 0) {
      throw new IllegalArgumentException("a subject is one line");
    }
    Objects.requireNonNull(body, "body");
    Objects.requireNonNull(attachmentName, "attachmentName");
    Objects.requireNonNull(attachmentType, "attachmentType");
    Objects.requireNonNull(attachment, "attachment");
  }

  /** No attachment bytes. */
  @Override
  public String toString() {
    return "OutgoingMail["
        + messageId
        + " to "
        + to
        + ", "
        + attachmentName
        + " ("
        + attachment.length
        + " bytes)]";
  }
}
