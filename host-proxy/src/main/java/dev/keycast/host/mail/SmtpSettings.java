package dev.keycast.host.mail;

import java.time.Duration;
import java.util.Objects;

/**
 * Where and how the host sends KDM mail (operations.md, {@code --smtp-*}).
 *
 * @param host the SMTP server's host name
 * @param port its port (1..65535)
 * @param from the envelope and header sender address
 * @param startTls whether STARTTLS is required before anything else is sent
 * @param user the login, or null for none
 * @param password the password (read from {@code --smtp-password-file}, never a flag), or null;
 *     never in {@link #toString}
 * @param timeout connect, read and write timeout of one attempt
 */
public record SmtpSettings(
    String host,
    int port,
    String from,
    boolean startTls,
    String user,
    String password,
    Duration timeout) {
  /** Longest password read. */
  public static final int MAX_PASSWORD = 1024;

  public SmtpSettings {
    Objects.requireNonNull(host, "host");
    if (host.isEmpty() || host.length() > 253 || !host.matches("[A-Za-z0-9.:\\[\\]-]+")) {
      throw new IllegalArgumentException("--smtp-host must be a host name or address");
    }
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException("--smtp-port must be 1..65535");
    }
    if (!dev.keycast.host.store.CinemaRecord.isEmail(from)) {
      throw new IllegalArgumentException(
          "--smtp-from must be an e-mail address (local@domain.tld)");
    }
    if (user != null
        && (user.isEmpty()
            || user.length() > 256
            || user.chars().anyMatch(Character::isISOControl))) {
      throw new IllegalArgumentException(
          "--smtp-user must be 1 to 256 characters without control characters");
    }
    if (password != null && (password.length() > MAX_PASSWORD || user == null)) {
      throw new IllegalArgumentException(
          "--smtp-password-file needs --smtp-user and holds at most "
              + MAX_PASSWORD
              + " characters");
    }
    Objects.requireNonNull(timeout, "timeout");
  }

  /** The settings without the password. */
  @Override
  public String toString() {
    return "SmtpSettings["
        + host
        + ":"
        + port
        + ", from="
        + from
        + ", starttls="
        + startTls
        + ", user="
        + user
        + ", password="
        + (password == null ? "none" : "(set)")
        + "]";
  }
}
