package dev.keycast.host.mail;

import jakarta.activation.DataHandler;
import jakarta.mail.Message;
import jakarta.mail.MessagingException;
import jakarta.mail.SendFailedException;
import jakarta.mail.Session;
import jakarta.mail.Transport;
import jakarta.mail.internet.InternetAddress;
import jakarta.mail.internet.MimeBodyPart;
import jakarta.mail.internet.MimeMessage;
import jakarta.mail.internet.MimeMultipart;
import jakarta.mail.util.ByteArrayDataSource;
import java.nio.charset.StandardCharsets;
import java.util.Date;
import java.util.Objects;
import java.util.Properties;
import org.eclipse.angus.mail.smtp.SMTPAddressFailedException;
import org.eclipse.angus.mail.smtp.SMTPSendFailedException;

/**
 * Sends mail through an SMTP server with Jakarta Mail (Eclipse Angus): one connection per message,
 * STARTTLS required when configured, login when a user is set. The message keeps the Message-ID
 * it is given (every attempt the same). Failures name the SMTP reply code and the exception class,
 * never the server's text, the message or the password.
 */
public final class SmtpTransport implements MailTransport {
  private final SmtpSettings settings;
  private final Session session;

  public SmtpTransport(SmtpSettings settings) {
    this.settings = Objects.requireNonNull(settings, "settings");
    Properties p = new Properties();
    p.setProperty("mail.transport.protocol", "smtp");
    p.setProperty("mail.smtp.host", settings.host());
    p.setProperty("mail.smtp.port", Integer.toString(settings.port()));
    p.setProperty("mail.smtp.from", settings.from());
    String ms = Long.toString(settings.timeout().toMillis());
    p.setProperty("mail.smtp.connectiontimeout", ms);
    p.setProperty("mail.smtp.timeout", ms);
    p.setProperty("mail.smtp.writetimeout", ms);
    p.setProperty("mail.smtp.auth", Boolean.toString(settings.user() != null));
    if (settings.startTls()) {
      p.setProperty("mail.smtp.starttls.enable", "true");
      p.setProperty("mail.smtp.starttls.required", "true");
      p.setProperty("mail.smtp.ssl.checkserveridentity", "true");
    }
    this.session = Session.getInstance(p);
  }

  @Override
  public void send(OutgoingMail mail) throws Failure {
    try {
      MimeMessage m = new FixedIdMessage(session, mail.messageId());
      m.setFrom(new InternetAddress(settings.from(), true));
      InternetAddress[] to = new InternetAddress[mail.to().size()];
      for (int i = 0; i < to.length; i++) {
        to[i] = new InternetAddress(mail.to().get(i), true);
      }
      m.setRecipients(Message.RecipientType.TO, to);
      m.setSubject(mail.subject(), StandardCharsets.UTF_8.name());
      m.setSentDate(new Date());
      MimeBodyPart text = new MimeBodyPart();
      text.setText(mail.body(), StandardCharsets.UTF_8.name());
      MimeBodyPart file = new MimeBodyPart();
      file.setDataHandler(
          new DataHandler(new ByteArrayDataSource(mail.attachment(), mail.attachmentType())));
      file.setFileName(mail.attachmentName());
      file.setDisposition(MimeBodyPart.ATTACHMENT);
      m.setContent(new MimeMultipart(text, file));
      m.saveChanges();
      try (Transport t = session.getTransport("smtp")) {
        t.connect(settings.host(), settings.port(), settings.user(), settings.password());
        t.sendMessage(m, to);
      }
    } catch (MessagingException e) {
      throw classify(e);
    }
  }

  private static Failure classify(MessagingException e) {
    int code = -1;
    if (e instanceof SMTPSendFailedException s) {
      code = s.getReturnCode();
    } else if (e instanceof SMTPAddressFailedException a) {
      code = a.getReturnCode();
    } else if (e.getNextException() instanceof SMTPAddressFailedException a) {
      code = a.getReturnCode();
    }
    boolean permanent =
        code >= 500 && code < 600
            || (e instanceof SendFailedException f
                && code < 0
                && f.getValidUnsentAddresses() == null
                && f.getInvalidAddresses() != null
                && f.getInvalidAddresses().length > 0);
    Throwable cause = e.getCause() != null ? e.getCause() : e.getNextException();
    return new Failure(
        e.getClass().getSimpleName()
            + (code > 0 ? " (reply " + code + ")" : "")
            + (cause != null && cause != e ? " caused by " + cause.getClass().getSimpleName() : ""),
        permanent);
  }

  /** A message whose Message-ID is the one it was given, not a new one per save. */
  private static final class FixedIdMessage extends MimeMessage {
    private final String id;

    FixedIdMessage(Session session, String id) {
      super(session);
      this.id = id;
    }

    @Override
    protected void updateMessageID() throws MessagingException {
      setHeader("Message-ID", "<" + id + ">");
    }
  }
}
