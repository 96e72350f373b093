package dev.keycast.enclave.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** In this JVM's own network namespace: only reads, never changes an interface. */
class LoopbackInterfaceTest {
  @Test
  void aMissingInterfaceIsAnErrnoCarryingError() {
    Throwable t = catchThrowable(() -> LoopbackInterface.configure("kcnosuch0"));
    assertThat(t)
        .isInstanceOf(LoopbackException.class)
        .hasMessageContaining("ioctl(SIOCGIFFLAGS, \"kcnosuch0\")")
        .hasMessageContaining("(errno 19 ENODEV)");
    assertThat(((LoopbackException) t).errno()).isEqualTo(19);
    assertThat(((LoopbackException) t).operation()).isEqualTo("ioctl(SIOCGIFFLAGS, \"kcnosuch0\")");
  }

  @Test
  void badNamesAreRefusedBeforeAnySystemCall() {
    for (String bad : new String[] {"", "lo lo", "a-name-longer-than-15", "lo\u0000x", "../lo"}) {
      Throwable t = catchThrowable(() -> LoopbackInterface.configure(bad));
      assertThat(t)
          .as(bad)
          .isInstanceOf(LoopbackException.class)
          .hasMessageContaining("not an interface name");
      assertThat(((LoopbackException) t).errno()).isEqualTo(LoopbackException.NO_ERRNO);
    }
  }

  @Test
  void anUpLoopbackIsLeftAlone() throws Exception {
    assumeTrue(
        isUp("lo"),
        "lo is not up in this namespace: the no-op case is skipped (changing it is not ours)");
    LoopbackInterface.Outcome o = LoopbackInterface.configure("lo");
    assertThat(o.linkBroughtUp()).isFalse();
    assertThat(o.addressAssigned()).isFalse();
    assertThat(o.address().isLoopbackAddress()).isTrue();
    assertThat(o.describe()).startsWith("lo: already up; 127.").endsWith("TCP on 127.0.0.1 works");
    LoopbackInterface.checkTcp(Duration.ofSeconds(5));
  }

  @Test
  void aNonLoopbackInterfaceIsRefused() throws Exception {
    Path net = Path.of("/sys/class/net");
    assumeTrue(Files.isDirectory(net), "no /sys/class/net");
    String other;
    try (Stream<Path> s = Files.list(net)) {
      other =
          s.map(p -> p.getFileName().toString())
              .filter(n -> n.matches("[A-Za-z0-9._-]{1,15}") && !isLoopback(n))
              .findFirst()
              .orElse(null);
    }
    assumeTrue(other != null, "no non-loopback interface here");
    Throwable t = catchThrowable(() -> LoopbackInterface.configure(other));
    assertThat(t)
        .isInstanceOf(LoopbackException.class)
        .hasMessageContaining("is not a loopback interface");
  }

  private static boolean isUp(String name) {
    return (flags(name) & LoopbackInterface.IFF_UP) != 0;
  }

  private static boolean isLoopback(String name) {
    return (flags(name) & LoopbackInterface.IFF_LOOPBACK) != 0;
  }

  private static int flags(String name) {
    try {
      return Integer.decode(Files.readString(Path.of("/sys/class/net", name, "flags")).strip());
    } catch (Exception e) {
      return 0;
    }
  }
}
