package dev.keycast.transport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class EndpointTest {

  @ParameterizedTest
  @ValueSource(
      strings = {
        "vsock://ANY:8000",
        "vsock://3:8000",
        "vsock://0:0",
        "vsock://1:5000",
        "vsock://4294967294:4294967295",
        "vsock://16:1",
        "unix:/run/keycast/enclave.sock",
        "unix:relative/path.sock",
        "unix:x",
        "tcp://127.0.0.1:0",
        "tcp://localhost:8443",
        "tcp://kms.us-east-1.amazonaws.com:443",
        "tcp://[::1]:65535",
        "tcp://[2001:db8::17]:80",
        "tcp://my_host.example.:1",
      })
  void canonicalFormsRoundTrip(String text) {
    Endpoint e = Endpoint.parse(text);
    assertThat(e.toString()).isEqualTo(text);
    assertThat(Endpoint.parse(e.toString())).isEqualTo(e);
  }

  @Test
  void parsesIntoTypedRecords() {
    assertThat(Endpoint.parse("vsock://ANY:8000")).isEqualTo(new VsockEndpoint(-1, 8000));
    assertThat(Endpoint.parse("vsock://-1:8000")).isEqualTo(new VsockEndpoint(-1, 8000));
    assertThat(Endpoint.parse("vsock://-1:8000").toString()).isEqualTo("vsock://ANY:8000");
    assertThat(((VsockEndpoint) Endpoint.parse("vsock://ANY:1")).isAnyCid()).isTrue();
    assertThat(Endpoint.parse("vsock://3:8000")).isEqualTo(new VsockEndpoint(3, 8000));
    assertThat(Endpoint.parse("vsock://3:4294967295")).isEqualTo(new VsockEndpoint(3, -1));
    assertThat(Endpoint.parse("unix:/tmp/a.sock"))
        .isEqualTo(new UnixEndpoint(Path.of("/tmp/a.sock")));
    assertThat(Endpoint.parse("unix:a/b")).isEqualTo(new UnixEndpoint(Path.of("a/b")));
    assertThat(Endpoint.parse("tcp://[::1]:443")).isEqualTo(new TcpEndpoint("::1", 443));
    assertThat(Endpoint.parse("tcp://10.0.0.1:1")).isEqualTo(new TcpEndpoint("10.0.0.1", 1));
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "''|empty address",
        "http://x:1|unknown scheme",
        "VSOCK://3:1|unknown scheme",
        "vsock:3:1|unknown scheme",
        "' tcp://a:1'|whitespace",
        "'tcp://a:1 '|whitespace",
        "tcp://01.2.3.4:80|not a valid IPv4",
        "vsock://3|expected vsock://CID:PORT",
        "vsock://3:1:2|expected vsock://CID:PORT",
        "vsock://:1|empty CID",
        "vsock://3:|empty port",
        "vsock://any:1|CID is not a decimal number",
        "vsock://-2:1|CID is not a decimal number",
        "vsock://+3:1|CID is not a decimal number",
        "vsock://03:1|CID has a leading zero",
        "vsock://4294967295:1|CID out of range",
        "vsock://99999999999:1|CID out of range",
        "vsock://3:4294967296|port out of range",
        "vsock://3:-1|port is not a decimal number",
        "vsock://3:0x10|port is not a decimal number",
        "vsock://3:ANY|port is not a decimal number",
        "unix:|empty path",
        "unix://tmp/x|not an authority",
        "tcp://host|missing :PORT",
        "tcp://:80|empty host",
        "tcp://host:|empty port",
        "tcp://host:65536|port out of range",
        "tcp://host:080|leading zero",
        "tcp://host:-1|not a decimal number",
        "tcp://::1:80|must be written in [ ]",
        "tcp://[::1]80|expected :PORT",
        "tcp://[::1|unclosed",
        "tcp://[]:80|not an IPv6 literal",
        "tcp://[1.2.3.4]:80|not an IPv6 literal",
        "tcp://[::g]:80|not an IPv6 literal",
        "tcp://[fe80::1%eth0]:80|not an IPv6 literal",
        "tcp://user@host:80|neither a DNS name",
        "tcp://host/path:80|neither a DNS name",
        "tcp://-host:80|neither a DNS name",
        "tcp://a..b:80|neither a DNS name",
        "tcp://256.1.1.1:80|not a valid IPv4",
        "tcp://1.2.3:80|not a valid IPv4",
      })
  void rejectsWithTypedErrorQuotingInput(String text, String reason) {
    assertThatThrownBy(() -> Endpoint.parse(text))
        .isInstanceOf(EndpointSyntaxException.class)
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("\"" + text + "\"")
        .hasMessageContaining(reason)
        .satisfies(t -> assertThat(((EndpointSyntaxException) t).input()).isEqualTo(text));
  }

  @Test
  void rejectsNullControlCharactersAndOverlongInput() {
    assertThatThrownBy(() -> Endpoint.parse(null))
        .isInstanceOf(EndpointSyntaxException.class)
        .hasMessageContaining("missing address");
    assertThatThrownBy(() -> Endpoint.parse("unix:/tmp/a\nb"))
        .isInstanceOf(EndpointSyntaxException.class)
        .hasMessageContaining("\"unix:/tmp/a\\x0ab\"");
    String longText = "tcp://" + "a".repeat(2000) + ":1";
    assertThatThrownBy(() -> Endpoint.parse(longText))
        .isInstanceOf(EndpointSyntaxException.class)
        .hasMessageContaining("longer than 1024")
        .hasMessageContaining("...");
  }

  @Test
  void unixPathLimitIs107Bytes() {
    String ok = "unix:/" + "p".repeat(106);
    assertThat(Endpoint.parse(ok).toString()).isEqualTo(ok);
    assertThatThrownBy(() -> Endpoint.parse("unix:/" + "p".repeat(107)))
        .isInstanceOf(EndpointSyntaxException.class)
        .hasMessageContaining("at most 107");
    // multi-byte characters count in UTF-8 bytes
    assertThatThrownBy(() -> Endpoint.parse("unix:/" + "é".repeat(54)))
        .isInstanceOf(EndpointSyntaxException.class);
  }

  @Test
  void tcpHostNameLimits() {
    assertThat(Endpoint.parse("tcp://" + "a".repeat(63) + ".b:1")).isInstanceOf(TcpEndpoint.class);
    assertThatThrownBy(() -> Endpoint.parse("tcp://" + "a".repeat(64) + ".b:1"))
        .isInstanceOf(EndpointSyntaxException.class);
  }

  @Test
  void recordsValidateDirectConstruction() {
    assertThatThrownBy(() -> new TcpEndpoint("h", 65536))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new TcpEndpoint("", 1)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new UnixEndpoint(Path.of("/" + "x".repeat(200))))
        .isInstanceOf(IllegalArgumentException.class);
    assertThat(new VsockEndpoint(-1, 8000).toString()).isEqualTo("vsock://ANY:8000");
    assertThat(new VsockEndpoint(3, -1).toString()).isEqualTo("vsock://3:4294967295");
  }
}
