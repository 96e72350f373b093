package dev.keycast.host.mail;

/** What sends a composed e-mail (SMTP: {@link SmtpTransport}). */
public interface MailTransport {

  /** Hands {@code mail} to the mail server; returns once it accepted it. */
  void send(OutgoingMail mail) throws Failure;

  /**
   * A message not accepted: {@code permanent} when trying again cannot help (a 5xx reply to the
   * message or every recipient), else it is tried again later. The message names the reply code
   * and exception class only: never the message's content or a credential.
   */
  final class Failure extends Exception {
    private final boolean permanent;

    public Failure(String message, boolean permanent) {
      super(message);
      this.permanent = permanent;
    }

    public boolean permanent() {
      return permanent;
    }
  }
}
