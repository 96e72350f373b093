package dev.keycast.bench.load;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The load tool's byte-level answer-head parser. */
class KeepAliveHttpTest {
  private static Object parse(String head) throws IOException {
    byte[] b = ("xx" + head + "yy").getBytes(StandardCharsets.ISO_8859_1);
    return KeepAliveHttp.parseHead(b, 2, 2 + head.length());
  }

  @Test
  void statusLengthAndConnection() throws IOException {
    assertThat(
            parse(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\ncontent-length: 1234\r\n\r\n"))
        .hasToString("Head[status=200, length=1234, close=false]");
    assertThat(
            parse(
                "HTTP/1.1 503 Service Unavailable\r\nCONTENT-LENGTH:  7 \r\nConnection: Close\r\n\r\n"))
        .hasToString("Head[status=503, length=7, close=true]");
    assertThat(parse("HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n"))
        .hasToString("Head[status=404, length=0, close=true]");
    assertThat(parse("HTTP/1.1 204 No Content\r\nConnection: keep-alive\r\n\r\n"))
        .hasToString("Head[status=204, length=-1, close=false]");
  }

  @Test
  void malformedHeadsAreIoErrors() {
    assertThatThrownBy(() -> parse("HTTP/2 200 OK\r\n\r\n"))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("not an HTTP/1.x answer");
    assertThatThrownBy(() -> parse("HTTP/1.1 2x0 OK\r\n\r\n"))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("malformed status line");
    assertThatThrownBy(() -> parse("HTTP/1.1 200 OK\r\nContent-Length: 12a\r\n\r\n"))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("malformed content-length");
    assertThatThrownBy(
            () -> parse("HTTP/1.1 200 OK\r\nContent-Length: 1234567890123456789\r\n\r\n"))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("malformed content-length");
    assertThatThrownBy(() -> parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("transfer-encoding chunked");
  }
}
