package dev.keycast.host.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.jupiter.api.Test;

class ConnectionLimiterTest {
  @Test
  void connectionsOverTheCapAreClosedAndSlotsAreFreedOnClose() {
    ConnectionLimiter limiter = new ConnectionLimiter(2);
    EmbeddedChannel a = new EmbeddedChannel(limiter);
    EmbeddedChannel b = new EmbeddedChannel(limiter);
    EmbeddedChannel c = new EmbeddedChannel(limiter);
    assertThat(a.isOpen()).isTrue();
    assertThat(b.isOpen()).isTrue();
    assertThat(c.isOpen()).isFalse();
    assertThat(limiter.open()).isEqualTo(2);

    a.close();
    assertThat(limiter.open()).isEqualTo(1);
    EmbeddedChannel d = new EmbeddedChannel(limiter);
    assertThat(d.isOpen()).isTrue();
    assertThat(limiter.open()).isEqualTo(2);
  }
}
