package dev.keycast.host;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keycast.host.egress.ImdsCredentials;
import dev.keycast.host.egress.StaticCredentials;
import dev.keycast.transport.Endpoint;
import dev.keycast.transport.TcpEndpoint;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** Option parsing of {@link HostProxyMain}. */
class HostProxyMainTest {
  @TempDir Path dir;

  private static HostProxyMain parse(Map<String, String> env, String... args) {
    HostProxyMain m = new HostProxyMain(env);
    new CommandLine(m).parseArgs(args);
    return m;
  }

  @Test
  void defaults() throws Exception {
    HostProxyMain m =
        parse(
            Map.of("AWS_REGION", "eu-west-1"),
            "--store",
            "sqlite:/tmp/x.db",
            "--tls-cert",
            "/etc/keycast/tls/host.crt.pem",
            "--tls-key",
            "/etc/keycast/tls/host.key.pem");
    HostProxy.Config c = m.config();
    assertThat(c.enclave()).isEqualTo(Endpoint.parse("vsock://16:5000"));
    assertThat(c.listen()).isEqualTo(Endpoint.parse("tcp://0.0.0.0:8443"));
    assertThat(c.admin()).isEqualTo(Endpoint.parse("tcp://127.0.0.1:8444"));
    assertThat(c.kmsEgressListen()).isEqualTo(Endpoint.parse("vsock://ANY:8000"));
    assertThat(c.kmsTarget()).isEqualTo(new TcpEndpoint("kms.eu-west-1.amazonaws.com", 443));
    assertThat(c.kmsExtraAllowed()).isNull();
    assertThat(c.enclaveLogListen()).isEqualTo(Endpoint.parse("vsock://ANY:5001"));
    assertThat(c.enclaveClient().maxConnections()).isEqualTo(64);
    assertThat(c.initKmsKeyId()).isNull();
    assertThat(m.credentials()).isInstanceOf(ImdsCredentials.class);
  }

  @Test
  void productionRefusesAKmsTargetOutsideTheAllowlistAndANonLoopbackAdmin() {
    assertThatThrownBy(
            () ->
                parse(
                        Map.of(),
                        "--store",
                        "sqlite:/x",
                        "--region",
                        "eu-west-1",
                        "--kms-target",
                        "tcp://127.0.0.1:4566")
                    .config())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("--mock");
    assertThatThrownBy(
            () ->
                parse(
                        Map.of(),
                        "--store",
                        "sqlite:/x",
                        "--region",
                        "eu-west-1",
                        "--admin",
                        "tcp://0.0.0.0:8444")
                    .config())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("loopback");
    assertThatThrownBy(() -> parse(Map.of(), "--store", "sqlite:/x").config())
        .hasMessageContaining("--region");
    // vsock-proxy style HOST:PORT is accepted for the regional endpoint
    assertThat(
            parse(
                    Map.of(),
                    "--store",
                    "sqlite:/x",
                    "--region",
                    "eu-west-1",
                    "--kms-target",
                    "kms.eu-west-1.amazonaws.com:443",
                    "--listen",
                    "tcp://127.0.0.1:8443")
                .config()
                .kmsTarget())
        .isEqualTo(new TcpEndpoint("kms.eu-west-1.amazonaws.com", 443));
  }

  @Test
  void plainHttpOnAnAddressOtherMachinesReachIsRefused() {
    // a network observer would read every send and delivery (and hijack sessions) on plain HTTP
    assertThatThrownBy(
            () -> parse(Map.of(), "--store", "sqlite:/x", "--region", "eu-west-1").config())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("--tls-cert")
        .hasMessageContaining("--plain-http");
    assertThatThrownBy(
            () ->
                parse(
                        Map.of(),
                        "--store",
                        "sqlite:/x",
                        "--region",
                        "eu-west-1",
                        "--listen",
                        "tcp://192.0.2.10:8443")
                    .config())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("--tls-cert");
    assertThatThrownBy(
            () ->
                parse(
                        Map.of(),
                        "--store",
                        "sqlite:/x",
                        "--region",
                        "eu-west-1",
                        "--plain-http",
                        "--tls-cert",
                        "c.pem",
                        "--tls-key",
                        "k.pem")
                    .config())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("exclude");
    // loopback and unix: stay plain for the local stack; --plain-http is an explicit choice
    assertThat(
            parse(
                    Map.of(),
                    "--store",
                    "sqlite:/x",
                    "--region",
                    "eu-west-1",
                    "--listen",
                    "tcp://127.0.0.1:8443")
                .config()
                .tlsCert())
        .isNull();
    assertThat(
            parse(
                    Map.of(),
                    "--store",
                    "sqlite:/x",
                    "--region",
                    "eu-west-1",
                    "--listen",
                    "unix:/tmp/keycast.sock")
                .config()
                .tlsCert())
        .isNull();
    assertThat(
            parse(Map.of(), "--store", "sqlite:/x", "--region", "eu-west-1", "--plain-http")
                .config()
                .listen())
        .isEqualTo(Endpoint.parse("tcp://0.0.0.0:8443"));
  }

  @Test
  void mockModeAllowsTheMockKmsAndStaticCredentials() throws Exception {
    Path creds = dir.resolve("creds");
    Files.writeString(creds, "aws_access_key_id=AKIDFILE\naws_secret_access_key=file-secret\n");
    HostProxyMain m =
        parse(
            Map.of("AWS_ACCESS_KEY_ID", "AKIDENV", "AWS_SECRET_ACCESS_KEY", "env"),
            "--store",
            "sqlite:/x",
            "--region",
            "eu-west-1",
            "--mock",
            "--kms-target",
            "tcp://127.0.0.1:4566",
            "--kms-egress-listen",
            "unix:/tmp/kms.sock",
            "--enclave",
            "unix:/tmp/enclave.sock",
            "--admin",
            "none",
            "--enclave-log-listen",
            "none",
            "--credentials-file",
            creds.toString(),
            "--max-enclave-connections",
            "8",
            "--listen",
            "tcp://127.0.0.1:8443");
    HostProxy.Config c = m.config();
    assertThat(c.kmsExtraAllowed()).isEqualTo(Endpoint.parse("tcp://127.0.0.1:4566"));
    assertThat(c.admin()).isNull();
    assertThat(c.enclaveLogListen()).isNull();
    assertThat(c.enclaveClient().maxConnections()).isEqualTo(8);
    StaticCredentials s = (StaticCredentials) m.credentials();
    assertThat(s.credentials().accessKeyId()).isEqualTo("AKIDFILE");
    assertThat(s.toString()).doesNotContain("file-secret");
    // options override the file and the environment
    HostProxyMain o =
        parse(
            Map.of("AWS_ACCESS_KEY_ID", "AKIDENV", "AWS_SECRET_ACCESS_KEY", "env"),
            "--store",
            "sqlite:/x",
            "--region",
            "eu-west-1",
            "--mock",
            "--access-key-id",
            "AKIDOPT");
    assertThat(((StaticCredentials) o.credentials()).credentials().accessKeyId())
        .isEqualTo("AKIDOPT");
  }

  @Test
  void senderLimitsHaveGenerousDefaultsAndRefuseNonsense() {
    String[] base = {"--store", "sqlite:/x", "--region", "eu-west-1"};
    dev.keycast.host.server.SenderLimits d = parse(Map.of(), base).senderLimits();
    assertThat(d).isEqualTo(dev.keycast.host.server.SenderLimits.defaults());
    assertThat(d.sendsPerMinute()).isEqualTo(600);
    assertThat(d.burst()).isEqualTo(100);
    assertThat(d.maxInFlight()).isEqualTo(32);
    assertThat(d.dailyDeliveries()).isZero();
    dev.keycast.host.server.SenderLimits s =
        parse(
                Map.of(),
                "--store",
                "sqlite:/x",
                "--sender-rate",
                "10/s",
                "--sender-burst",
                "5",
                "--sender-max-in-flight",
                "off",
                "--sender-daily-deliveries",
                "1000")
            .senderLimits();
    assertThat(s).isEqualTo(new dev.keycast.host.server.SenderLimits(600, 5, 0, 1000));
    assertThat(
            parse(
                    Map.of(),
                    "--store",
                    "sqlite:/x",
                    "--sender-rate",
                    "off",
                    "--sender-max-in-flight",
                    "0")
                .senderLimits()
                .off())
        .isTrue();
    assertThatThrownBy(
            () -> parse(Map.of(), "--store", "sqlite:/x", "--sender-rate", "600").senderLimits())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("N/min");
    assertThatThrownBy(
            () -> parse(Map.of(), "--store", "sqlite:/x", "--sender-rate", "-5/min").senderLimits())
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(
            () -> parse(Map.of(), "--store", "sqlite:/x", "--sender-burst", "0").senderLimits())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("--sender-burst");
    assertThatThrownBy(
            () ->
                parse(Map.of(), "--store", "sqlite:/x", "--sender-daily-deliveries", "many")
                    .senderLimits())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("--sender-daily-deliveries");
    String help = new CommandLine(new HostProxyMain(Map.of())).getUsageMessage();
    assertThat(help)
        .contains(
            "--sender-rate",
            "--sender-burst",
            "--sender-max-in-flight",
            "--sender-daily-deliveries",
            "sender_rate_limited");
  }

  @Test
  void smtpOptionsTakeThePasswordFromAFileOnlyAndNeverShowIt() throws Exception {
    String[] base = {"--store", "sqlite:/x", "--region", "eu-west-1"};
    dev.keycast.host.server.MailSettings none = parse(Map.of(), base).mailSettings();
    assertThat(none.enabled()).isFalse();
    assertThat(none.template()).isEqualTo(dev.keycast.host.mail.MailTemplate.DEFAULT);

    Path pw = Files.writeString(dir.resolve("smtp-password"), "s3cret-smtp-pw\n");
    Path template =
        Files.writeString(dir.resolve("t.txt"), "Subject: KDMs {{title}}\n\nHi {{cinema}}\n");
    dev.keycast.host.server.MailSettings m =
        parse(
                Map.of(),
                "--store",
                "sqlite:/x",
                "--smtp-host",
                "smtp.example.com",
                "--smtp-from",
                "kdm@distributor.example",
                "--smtp-user",
                "relay",
                "--smtp-password-file",
                pw.toString(),
                "--mail-template",
                template.toString())
            .mailSettings();
    assertThat(m.enabled()).isTrue();
    assertThat(m.smtp().port()).isEqualTo(587);
    assertThat(m.smtp().startTls()).isTrue();
    assertThat(m.smtp().password()).isEqualTo("s3cret-smtp-pw");
    assertThat(m.smtp().toString()).doesNotContain("s3cret").contains("password=(set)");
    assertThat(m.toString()).doesNotContain("s3cret");
    assertThat(m.template().subject(Map.of("title", "Film"))).isEqualTo("KDMs Film");
    assertThat(
            parse(
                    Map.of(),
                    "--store",
                    "sqlite:/x",
                    "--smtp-host",
                    "relay.local",
                    "--smtp-port",
                    "25",
                    "--smtp-from",
                    "kdm@distributor.example",
                    "--no-smtp-starttls")
                .mailSettings()
                .smtp()
                .startTls())
        .isFalse();

    assertThatThrownBy(
            () ->
                parse(Map.of(), "--store", "sqlite:/x", "--smtp-host", "smtp.example.com")
                    .mailSettings())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("--smtp-from");
    assertThatThrownBy(
            () ->
                parse(Map.of(), "--store", "sqlite:/x", "--smtp-from", "kdm@distributor.example")
                    .mailSettings())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("--smtp-host");
    assertThatThrownBy(() -> parse(Map.of(), "--store", "sqlite:/x", "--smtp-password", "pw"))
        .isInstanceOf(CommandLine.UnmatchedArgumentException.class);
    Path bad = Files.writeString(dir.resolve("bad.txt"), "Subject: {{nope}}\n\nbody\n");
    assertThatThrownBy(
            () ->
                parse(Map.of(), "--store", "sqlite:/x", "--mail-template", bad.toString())
                    .mailSettings())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("{{nope}}");
    String help = new CommandLine(new HostProxyMain(Map.of())).getUsageMessage();
    assertThat(help).contains("--smtp-host", "--smtp-password-file", "--mail-template");
  }
}
