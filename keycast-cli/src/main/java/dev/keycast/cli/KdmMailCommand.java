package dev.keycast.cli;

import dev.keycast.protocol.api.HostApi;
import dev.keycast.protocol.sender.SenderSigningKey;
import java.nio.file.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code keycast kdm mail}: asks the host to e-mail a KDM send's KDMs to the cinemas (issue 25,
 * api.md section 2.7): {@code POST /v1/sends/{id}/mail}, signed by the caller's sender key (the
 * host answers only the send's own sender), one message per cinema with its KDMs zipped, sent by
 * the host's mail worker; {@code --status} reads the state of every mail of the send instead.
 */
@Command(
    name = "mail",
    mixinStandardHelpOptions = true,
    versionProvider = KeycastCli.Version.class,
    sortOptions = false,
    description = {
      "E-mail the KDMs of a send to the cinemas of its screens, one message per cinema to the addresses"
          + " registered with 'keycast screen register --email', its KDMs in one zip. The host queues the"
          + " messages durably and sends them through its SMTP server, retrying; prints one line per"
          + " cinema (queued, sent or failed; skipped when the cinema has no address). Asking again"
          + " sends nothing twice (a failed message is queued again)."
    },
    footer = ExitCodes.HELP)
final class KdmMailCommand extends KeycastCommand {
  @Mixin HostOptions hostOptions;

  @Option(
      names = "--send",
      required = true,
      paramLabel = "SEND_ID",
      description = "The KDM send (its id, as keycast kdm send printed it).")
  String sendId;

  @Option(names = "--cinema", paramLabel = "NAME", description = "Only this cinema's message.")
  String cinema;

  @Option(names = "--status", description = "Print the state of the send's mails; queue nothing.")
  boolean status;

  @Option(
      names = "--sender-key",
      required = true,
      paramLabel = "FILE",
      description = "Your PEM Ed25519 sender key: the send's own sender key.")
  Path senderKey;

  @Override
  int run() throws CliException, HostException {
    if (!sendId.matches("[A-Za-z0-9_-]{1,128}")) {
      throw CliException.usage("--send: \"" + sendId + "\" is not a send id");
    }
    if (cinema != null && (cinema.isBlank() || cinema.length() > 64 || cinema.contains("/"))) {
      throw CliException.usage("--cinema: a cinema name is 1 to 64 characters without '/'");
    }
    if (status && cinema != null) {
      throw CliException.usage("--status reports every cinema of the send: drop --cinema");
    }
    HostClient host = hostOptions.client();
    HostApi.MailStatus s;
    try (SenderSigningKey key = SenderSets.readPrivate(senderKey, "--sender-key")) {
      s =
          status
              ? host.kdmMailStatus(sendId, key)
              : host.mailKdms(sendId, new HostApi.MailRequest(cinema), key);
    }
    if (json) {
      printJson(s);
      return ExitCodes.OK;
    }
    for (HostApi.Mail m : s.mails()) {
      out()
          .println(
              m.state()
                  + " "
                  + m.cinema()
                  + " to "
                  + String.join(", ", m.to())
                  + " <"
                  + m.messageId()
                  + ">"
                  + (m.attempts() > 0 ? " after " + m.attempts() + " attempt(s)" : "")
                  + (m.lastError() == null ? "" : " (last error: " + m.lastError() + ")"));
    }
    for (HostApi.MailSkipped k : s.skipped()) {
      out()
          .println(
              "skipped "
                  + k.cinema()
                  + ": "
                  + (k.reason().equals("no_email")
                      ? "no e-mail address (keycast screen register --cinema ... --email ADDR)"
                      : k.reason()));
    }
    if (s.mails().isEmpty() && s.skipped().isEmpty()) {
      out().println("no mail" + (status ? " of send " + sendId : ""));
    }
    return ExitCodes.OK;
  }
}
