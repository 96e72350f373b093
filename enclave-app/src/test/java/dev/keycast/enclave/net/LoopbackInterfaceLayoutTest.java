package dev.keycast.enclave.net;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code struct ifreq} and the ioctl numbers as the kernel ABI has them on LP64 Linux. */
class LoopbackInterfaceLayoutTest {
  @Test
  void ifreqIs40BytesWithTheUnionAt16() {
    assertThat(LoopbackInterface.IFREQ.byteSize()).isEqualTo(40);
    assertThat(LoopbackInterface.IFREQ.byteAlignment()).isEqualTo(8);
    assertThat(LoopbackInterface.IFREQ.byteOffset(groupElement("ifr_name"))).isZero();
    assertThat(LoopbackInterface.IFRU.byteSize()).isEqualTo(24); // struct ifmap, the largest member
    assertThat(LoopbackInterface.FLAGS_OFFSET).isEqualTo(16);
    assertThat(LoopbackInterface.FAMILY_OFFSET).isEqualTo(16);
    assertThat(LoopbackInterface.ADDR_OFFSET).isEqualTo(20);
    assertThat(LoopbackInterface.SOCKADDR_IN.byteSize()).isEqualTo(16);
  }

  @Test
  void requestNumbersAreTheSockiosOnes() {
    // include/uapi/linux/sockios.h: plain numbers, not _IOC-encoded
    assertThat(LoopbackInterface.SIOCGIFFLAGS).isEqualTo(0x8913);
    assertThat(LoopbackInterface.SIOCSIFFLAGS).isEqualTo(0x8914);
    assertThat(LoopbackInterface.SIOCGIFADDR).isEqualTo(0x8915);
    assertThat(LoopbackInterface.SIOCSIFADDR).isEqualTo(0x8916);
    assertThat(LoopbackInterface.SIOCSIFNETMASK).isEqualTo(0x891c);
  }

  /** The same numbers from the C headers of this machine, where a C compiler is installed. */
  @Test
  void matchesTheCHeaders(@TempDir Path dir) throws Exception {
    Path cc = Path.of("/usr/bin/cc");
    assumeTrue(Files.isExecutable(cc), "no C compiler (/usr/bin/cc): header cross-check skipped");
    Path src = dir.resolve("ifreq.c");
    Files.writeString(
        src,
        """
        #include <stdio.h>
        #include <stddef.h>
        #include <errno.h>
        #include <net/if.h>
        #include <netinet/in.h>
        #include <sys/ioctl.h>
        #include <sys/socket.h>
        int main(void) {
          printf("%zu %zu %zu %zu %zu\\n", sizeof(struct ifreq), offsetof(struct ifreq, ifr_name),
              offsetof(struct ifreq, ifr_flags), offsetof(struct ifreq, ifr_addr),
              offsetof(struct ifreq, ifr_addr) + offsetof(struct sockaddr_in, sin_addr));
          printf("%d %d %d %d %d\\n", SIOCGIFFLAGS, SIOCSIFFLAGS, SIOCGIFADDR, SIOCSIFADDR, SIOCSIFNETMASK);
          printf("%d %d %d %d %d %d %d\\n", IFF_UP, IFF_LOOPBACK, IFF_RUNNING, AF_INET, SOCK_DGRAM,
              SOCK_CLOEXEC, EADDRNOTAVAIL);
          return 0;
        }
        """);
    Path exe = dir.resolve("ifreq");
    Process compile =
        new ProcessBuilder(cc.toString(), "-o", exe.toString(), src.toString())
            .redirectErrorStream(true)
            .start();
    String compileOut = new String(compile.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(compile.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assumeTrue(compile.exitValue() == 0, "the C headers are not installed: " + compileOut);
    Process p = new ProcessBuilder(exe.toString()).start();
    String[] lines =
        new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).split("\n");
    assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
    assertThat(lines[0])
        .isEqualTo(
            LoopbackInterface.IFREQ.byteSize()
                + " 0 "
                + LoopbackInterface.FLAGS_OFFSET
                + " "
                + LoopbackInterface.FAMILY_OFFSET
                + " "
                + LoopbackInterface.ADDR_OFFSET);
    assertThat(lines[1])
        .isEqualTo(
            LoopbackInterface.SIOCGIFFLAGS
                + " "
                + LoopbackInterface.SIOCSIFFLAGS
                + " "
                + LoopbackInterface.SIOCGIFADDR
                + " "
                + LoopbackInterface.SIOCSIFADDR
                + " "
                + LoopbackInterface.SIOCSIFNETMASK);
    assertThat(lines[2])
        .isEqualTo(
            LoopbackInterface.IFF_UP
                + " "
                + LoopbackInterface.IFF_LOOPBACK
                + " "
                + LoopbackInterface.IFF_RUNNING
                + " "
                + LoopbackInterface.AF_INET
                + " "
                + LoopbackInterface.SOCK_DGRAM
                + " "
                + LoopbackInterface.SOCK_CLOEXEC
                + " "
                + LoopbackInterface.EADDRNOTAVAIL);
  }
}
