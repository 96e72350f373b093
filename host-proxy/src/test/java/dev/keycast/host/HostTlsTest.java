package dev.keycast.host;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keycast.host.egress.StaticCredentials;
import dev.keycast.host.store.SqliteArtefactStore;
import dev.keycast.transport.TcpEndpoint;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The public listener with TLS from operator PEM files. */
class HostTlsTest {
  @TempDir Path dir;

  @Test
  void servesHttpsWithTheConfiguredCertificate() throws Exception {
    KeyPair kp = TestCerts.keyPair("EC", 256);
    X509Certificate cert =
        TestCerts.certificate(
            "CN=keycast-host",
            kp.getPublic(),
            "CN=keycast-host",
            kp.getPrivate(),
            false,
            "127.0.0.1");
    Path certFile = dir.resolve("host.crt");
    Path keyFile = dir.resolve("host.key");
    Files.writeString(certFile, TestCerts.pem("CERTIFICATE", cert.getEncoded()));
    Files.writeString(keyFile, TestCerts.pem("PRIVATE KEY", kp.getPrivate().getEncoded()));

    try (FakeEnclave enclave = new FakeEnclave().start()) {
      HostProxy.Config b = HostTestSupport.config(enclave, "alias/k");
      HostProxy.Config tls =
          new HostProxy.Config(
              b.enclave(),
              b.listen(),
              b.admin(),
              b.region(),
              b.initKmsKeyId(),
              certFile,
              keyFile,
              null,
              null,
              null,
              null,
              b.enclaveClient(),
              b.shutdownGrace(),
              b.idleTimeout(),
              b.credentialsRefresh());
      HostProxy host =
          new HostProxy(
              tls,
              SqliteArtefactStore.open(dir.resolve("t.db")),
              "test",
              new StaticCredentials("AKID", "s", null),
              Clock.systemUTC());
      host.start();
      try {
        int port = ((TcpEndpoint) host.publicEndpoint()).port();
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        trust.setCertificateEntry("host", cert);
        TrustManagerFactory tmf =
            TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, tmf.getTrustManagers(), null);
        HttpClient https =
            HttpClient.newBuilder()
                .sslContext(ctx)
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(5))
                .build();
        HttpResponse<String> r =
            https.send(
                HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + port + "/v1/health"))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).contains("ok");
        // plain HTTP is not served on the TLS port
        assertThatThrownBy(() -> HostTestSupport.get("http://127.0.0.1:" + port + "/v1/health"))
            .isInstanceOf(java.io.IOException.class);
      } finally {
        host.shutdown();
      }
    }
  }
}
