package dev.keycast.cli;

import dev.keycast.protocol.api.HostApi;
import dev.keycast.protocol.policy.SendPolicy;
import dev.keycast.protocol.sender.SenderSigningKey;
import java.io.ByteArrayInputStream;
import java.nio.file.Path;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code keycast screen register}: POSTs /v1/screens (api.md section 2.4) with a screen's ST 430-2
 * chain, signed by the caller's sender key. The host checks the chain as the enclave will (a
 * refusal names the failed check, e.g. {@code screen_certificate_rsa_size}); registering the same
 * leaf again replaces the registration.
 */
@Command(
    name = "register",
    mixinStandardHelpOptions = true,
    versionProvider = KeycastCli.Version.class,
    sortOptions = false,
    description = {
      "Register a cinema screen by the certificate chain of its Security Manager (ST 430-2: PEM,"
          + " leaf first, up to the manufacturer's root) so that KDM sends can select it. The host"
          + " refuses a chain outside the profile and names the failed check. Registering the same"
          + " leaf again replaces its cinema, name and trusted devices. KDMs sent earlier to policies"
          + " that admit late recipients are issued before the host answers."
    },
    footer = ExitCodes.HELP)
final class ScreenRegisterCommand extends KeycastCommand {
  /** Largest chain file read. */
  static final int MAX_CHAIN_FILE = 256 * 1024;

  /** Most --email addresses (the host's cap). */
  static final int MAX_EMAILS = 16;

  /** Longest address. */
  static final int MAX_EMAIL = 254;

  /** An address as the host accepts it: dot-atom local part, a domain of two labels or more. */
  static final java.util.regex.Pattern EMAIL =
      java.util.regex.Pattern.compile(
          "[A-Za-z0-9!#$%&'*+=?^_`{|}~-]+(\\.[A-Za-z0-9!#$%&'*+=?^_`{|}~-]+)*"
              + "@[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+");

  @Mixin HostOptions hostOptions;

  @Option(
      names = "--chain",
      required = true,
      paramLabel = "FILE",
      description = "The screen's certificate chain, PEM certificates leaf first.")
  Path chain;

  @Option(
      names = "--cinema",
      paramLabel = "NAME",
      description = "The cinema the screen belongs to (its KDMs are fetched per cinema).")
  String cinema;

  @Option(
      names = "--screen",
      paramLabel = "NAME",
      description = "The screen's name in its cinema, e.g. \"Screen 1\".")
  String screen;

  @Option(
      names = "--utc-offset",
      paramLabel = "+HH:MM",
      description =
          "The cinema's UTC offset, in which its KDMs' times are written, e.g. +01:00 (needs --cinema).")
  String utcOffset;

  @Option(
      names = "--trusted-device",
      paramLabel = "THUMBPRINT",
      description =
          "A trusted device's certificate thumbprint (base64 SHA-1), for the formulations that name devices. Repeatable.")
  List<String> trustedDevices = new ArrayList<>();

  @Option(
      names = "--email",
      paramLabel = "ADDR",
      description =
          "An e-mail address of the cinema its KDMs are mailed to (keycast kdm mail; needs --cinema)."
              + " Repeatable, at most 16; given, they replace the cinema's addresses, absent, they are kept.")
  List<String> emails = new ArrayList<>();

  @Option(
      names = "--sender-key",
      required = true,
      paramLabel = "FILE",
      description =
          "Your PEM Ed25519 sender key (keycast sender keygen): the host admits only senders of the key set's sender set.")
  Path senderKey;

  @Override
  int run() throws CliException, HostException {
    if (utcOffset != null && !utcOffset.matches("[+-](0[0-9]|1[0-4]):[0-5][0-9]")) {
      throw CliException.usage(
          "--utc-offset: \"" + utcOffset + "\" is not +HH:MM or -HH:MM (e.g. +01:00)");
    }
    if (utcOffset != null && cinema == null) {
      throw CliException.usage("--utc-offset is the cinema's: pass --cinema with it");
    }
    for (String t : trustedDevices) {
      if (!SendPolicy.isWellFormedThumbprint(t)) {
        throw CliException.usage(
            "--trusted-device: \"" + t + "\" is not a base64 SHA-1 thumbprint (28 characters)");
      }
    }
    if (!emails.isEmpty() && cinema == null) {
      throw CliException.usage("--email is the cinema's: pass --cinema with it");
    }
    if (emails.size() > MAX_EMAILS) {
      throw CliException.usage("--email: at most " + MAX_EMAILS + " addresses");
    }
    for (String e : emails) {
      if (e.length() > MAX_EMAIL || !EMAIL.matcher(e).matches()) {
        throw CliException.usage(
            "--email: \""
                + e
                + "\" is not an e-mail address (local@domain.tld, at most "
                + MAX_EMAIL
                + " characters)");
      }
    }
    List<String> der = readChain(chain);
    HostClient host = hostOptions.client();
    HostApi.Screen s;
    try (SenderSigningKey key = SenderSets.readPrivate(senderKey, "--sender-key")) {
      s =
          host.registerScreen(
              new HostApi.RegisterScreen(
                  der, cinema, screen, utcOffset, trustedDevices, emails.isEmpty() ? null : emails),
              key);
    }
    if (json) {
      printJson(s);
    } else {
      out()
          .println(
              "screen "
                  + s.thumbprint()
                  + " registered (url "
                  + s.thumbprintUrl()
                  + ", key "
                  + s.fingerprint()
                  + (s.cinema() == null ? "" : ", cinema " + s.cinema() + " " + s.utcOffset())
                  + (s.screen() == null ? "" : ", screen " + s.screen())
                  + (s.emails() == null || s.emails().isEmpty()
                      ? ""
                      : ", KDM mail to " + String.join(", ", s.emails()))
                  + ")"
                  + (s.lateDeliveries() > 0
                      ? "; " + s.lateDeliveries() + " KDM(s) issued to it from earlier sends"
                      : ""));
    }
    return ExitCodes.OK;
  }

  /** The chain file's certificates as base64 DER, leaf first. */
  static List<String> readChain(Path file) throws CliException {
    byte[] bytes = CliFiles.read(file, "--chain", MAX_CHAIN_FILE);
    Collection<? extends Certificate> certs;
    try {
      certs =
          CertificateFactory.getInstance("X.509")
              .generateCertificates(new ByteArrayInputStream(bytes));
    } catch (CertificateException e) {
      throw CliException.usage("--chain " + file + ": not PEM X.509 certificates");
    }
    if (certs.size() < 2 || certs.size() > 8) {
      throw CliException.usage(
          "--chain "
              + file
              + ": expected 2 to 8 certificates (leaf first, up to the root), found "
              + certs.size());
    }
    List<String> out = new ArrayList<>();
    for (Certificate c : certs) {
      try {
        out.add(Base64.getEncoder().encodeToString(c.getEncoded()));
      } catch (java.security.cert.CertificateEncodingException e) {
        throw CliException.usage("--chain " + file + ": a certificate does not encode");
      }
    }
    return out;
  }
}
