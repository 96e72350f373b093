package dev.keycast.cli;

import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.Collection;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import picocli.CommandLine.Option;

/** How to reach the host proxy: {@code --host}, {@code --ca-cert}, {@code --timeout}. A picocli mixin. */
final class HostOptions {
  @Option(
      names = "--host",
      required = true,
      paramLabel = "URL",
      order = -20,
      description =
          "The host proxy's base URL, e.g. https://keycast.example.com or http://127.0.0.1:8080.")
  String host;

  @Option(
      names = "--ca-cert",
      paramLabel = "PEM",
      order = 90,
      description =
          "Trust only this CA certificate (PEM) for the host's HTTPS certificate"
              + " instead of the JDK's default trust store.")
  Path caCert;

  @Option(
      names = "--timeout",
      paramLabel = "DURATION",
      defaultValue = "5m",
      order = 91,
      description =
          "Give up on one HTTP request after this long: 30s, 5m, 1h or PT5M. Default: ${DEFAULT-VALUE}.")
  String timeout;

  /** A client for the configured host. */
  HostClient client() throws CliException {
    URI base;
    try {
      base = new URI(host.endsWith("/") ? host.substring(0, host.length() - 1) : host);
    } catch (URISyntaxException e) {
      throw CliException.usage(
          "--host: \"" + host + "\" is not a URL (e.g. https://keycast.example.com)");
    }
    if (base.getScheme() == null
        || !(base.getScheme().equals("http") || base.getScheme().equals("https"))
        || base.getHost() == null
        || base.getRawQuery() != null
        || base.getRawFragment() != null) {
      throw CliException.usage(
          "--host: \""
              + host
              + "\" must be an http:// or https:// URL without query"
              + " (e.g. https://keycast.example.com)");
    }
    Duration t = Durations.parse("--timeout", timeout);
    SSLContext ssl = null;
    if (caCert != null) {
      if (!base.getScheme().equals("https")) {
        throw CliException.usage("--ca-cert applies to https:// hosts only, not " + host);
      }
      ssl = sslContext(caCert);
    }
    return new HostClient(base, t, ssl);
  }

  private static SSLContext sslContext(Path pem) throws CliException {
    byte[] bytes = CliFiles.read(pem, "--ca-cert", 256 * 1024);
    try {
      Collection<? extends Certificate> certs =
          CertificateFactory.getInstance("X.509")
              .generateCertificates(new ByteArrayInputStream(bytes));
      if (certs.isEmpty()) {
        throw CliException.usage("--ca-cert " + pem + ": no certificate found");
      }
      KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
      ks.load(null, null);
      int i = 0;
      for (Certificate c : certs) {
        ks.setCertificateEntry("ca" + i++, c);
      }
      TrustManagerFactory tmf =
          TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(ks);
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(null, tmf.getTrustManagers(), null);
      return ctx;
    } catch (GeneralSecurityException | java.io.IOException e) {
      throw CliException.usage("--ca-cert " + pem + ": not a PEM or DER X.509 certificate");
    }
  }
}
