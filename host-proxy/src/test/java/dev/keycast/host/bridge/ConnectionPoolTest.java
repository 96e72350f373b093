package dev.keycast.host.bridge;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.DefaultEventLoopGroup;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.local.LocalAddress;
import io.netty.channel.local.LocalChannel;
import io.netty.channel.local.LocalServerChannel;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@link ConnectionPool}: limits, waiting cap, timeout, reuse, close. */
class ConnectionPoolTest {
  private static final ChannelInitializer<Channel> NOOP =
      new ChannelInitializer<>() {
        @Override
        protected void initChannel(Channel ch) {}
      };
  private EventLoopGroup group;
  private Channel server;
  private LocalAddress address;

  @BeforeEach
  void setUp() throws Exception {
    group = new DefaultEventLoopGroup(2);
    address = new LocalAddress("pool-test-" + System.nanoTime());
    server =
        new ServerBootstrap()
            .group(group)
            .channel(LocalServerChannel.class)
            .childHandler(NOOP)
            .bind(address)
            .sync()
            .channel();
  }

  @AfterEach
  void tearDown() throws Exception {
    server.close().sync();
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
  }

  private ConnectionPool pool(int max, int waiting, long timeoutMillis) {
    Bootstrap b =
        new Bootstrap()
            .group(group)
            .channel(LocalChannel.class)
            .remoteAddress(address)
            .handler(NOOP);
    return new ConnectionPool(b, max, waiting, TimeUnit.MILLISECONDS.toNanos(timeoutMillis));
  }

  @Test
  void reusesAConnectionGivenBackAndClosesOneThatIsNotReusable() throws Exception {
    ConnectionPool p = pool(1, 1, 1000);
    Channel a = p.acquire();
    p.release(a, true);
    assertThat(p.acquire()).isSameAs(a);
    p.release(a, false);
    assertThat(a.closeFuture().await(1, TimeUnit.SECONDS)).isTrue();
    Channel b = p.acquire();
    assertThat(b).isNotSameAs(a);
    assertThat(b.isActive()).isTrue();
    p.release(b, true);
    p.close();
    assertThat(b.closeFuture().await(1, TimeUnit.SECONDS)).isTrue();
    assertThatThrownBy(p::acquire)
        .isInstanceOfSatisfying(
            ConnectionPool.AcquireException.class,
            e -> assertThat(e.failure()).isEqualTo(ConnectionPool.Failure.CLOSED));
  }

  @Test
  void aFullPoolTimesOutAndRefusesMoreWaitersThanAllowed() throws Exception {
    ConnectionPool p = pool(1, 1, 1_000);
    Channel held = p.acquire();
    AtomicReference<Throwable> waiter = new AtomicReference<>();
    Thread t =
        Thread.ofVirtual()
            .start(
                () -> {
                  try {
                    p.acquire();
                  } catch (Throwable e) {
                    waiter.set(e);
                  }
                });
    await().atMost(Duration.ofSeconds(10)).until(() -> p.waitingCount() == 1);
    assertThatThrownBy(p::acquire)
        .isInstanceOfSatisfying(
            ConnectionPool.AcquireException.class,
            e -> assertThat(e.failure()).isEqualTo(ConnectionPool.Failure.TOO_MANY_WAITING));
    t.join();
    assertThat(waiter.get())
        .isInstanceOfSatisfying(
            ConnectionPool.AcquireException.class,
            e -> assertThat(e.failure()).isEqualTo(ConnectionPool.Failure.TIMED_OUT));
    p.release(held, true);
    assertThat(p.acquire()).isSameAs(held); // the permit came back
  }

  @Test
  void aWaiterGetsTheConnectionGivenBack() throws Exception {
    ConnectionPool p = pool(1, 4, 5000);
    Channel held = p.acquire();
    AtomicReference<Channel> got = new AtomicReference<>();
    Thread t =
        Thread.ofVirtual()
            .start(
                () -> {
                  try {
                    got.set(p.acquire());
                  } catch (Exception e) {
                    throw new AssertionError(e);
                  }
                });
    await().atMost(Duration.ofSeconds(10)).until(() -> p.waitingCount() == 1);
    assertThat(got.get()).isNull();
    p.release(held, true);
    t.join(2000);
    assertThat(got.get()).isSameAs(held);
  }

  @Test
  void aFailedConnectGivesThePermitBack() throws Exception {
    Bootstrap b =
        new Bootstrap()
            .group(group)
            .channel(LocalChannel.class)
            .remoteAddress(new LocalAddress("nobody-" + System.nanoTime()))
            .handler(NOOP);
    ConnectionPool p = new ConnectionPool(b, 1, 1, TimeUnit.MILLISECONDS.toNanos(200));
    for (int i = 0; i < 2; i++) {
      assertThatThrownBy(p::acquire)
          .isInstanceOfSatisfying(
              ConnectionPool.AcquireException.class,
              e -> assertThat(e.failure()).isEqualTo(ConnectionPool.Failure.CONNECT));
    }
  }
}
