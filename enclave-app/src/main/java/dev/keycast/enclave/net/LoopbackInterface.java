package dev.keycast.enclave.net;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import dev.keycast.enclave.os.Libc;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.UnionLayout;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.regex.Pattern;

/**
 * Brings the loopback interface {@code lo} up from inside the process, the way {@code ifconfig lo
 * 127.0.0.1 up} would, without a shell or a network tool: a Nitro Enclave boots with {@code lo}
 * down (its init configures no networking) and the enclave image has no shell, yet the KMS path
 * listens on {@code 127.0.0.1} (an in-process TCP-to-vsock pipe).
 *
 * <p>Steps, through the JDK's Foreign Function and Memory API on libc (no native library of our
 * own), each on an {@code AF_INET} datagram socket with a {@code struct ifreq} naming {@code lo}:
 *
 * <ol>
 *   <li>{@code ioctl(SIOCGIFFLAGS)}; the interface MUST be a loopback interface ({@code
 *       IFF_LOOPBACK}). If {@code IFF_UP} is clear, {@code ioctl(SIOCSIFFLAGS)} with {@code IFF_UP |
 *       IFF_RUNNING} added (the kernel ignores {@code IFF_RUNNING}, which it manages itself).
 *   <li>{@code ioctl(SIOCGIFADDR)}. Linux gives {@code lo} the address {@code 127.0.0.1/8} when it
 *       comes up ({@code net/ipv4/devinet.c}, {@code NETDEV_UP} on an {@code IFF_LOOPBACK} device);
 *       only if no IPv4 address is present ({@code EADDRNOTAVAIL}) does this class assign it:
 *       {@code ioctl(SIOCSIFADDR, 127.0.0.1)} then {@code ioctl(SIOCSIFNETMASK, 255.0.0.0)}. The
 *       kernel adds the local routes with the address.
 *   <li>A TCP round trip on {@code 127.0.0.1} (bind an ephemeral port, connect, one byte each way),
 *       so that an interface that is up but does not carry traffic fails here, at start-up, with a
 *       clear message rather than later on the first KMS call.
 * </ol>
 *
 * <p>Idempotent: on an interface that is already up with an address, only the two reads and the
 * round trip happen. Changing the interface needs {@code CAP_NET_ADMIN} in the network namespace
 * (the enclave's process runs as root). The JVM needs {@code --enable-native-access=ALL-UNNAMED}
 * (the enclave jar's manifest grants it) to call this without a warning.
 *
 * <p>ABI: Linux on LP64 (x86_64 and aarch64 share these numbers and the 40-byte {@code struct
 * ifreq}); {@code LoopbackInterfaceLayoutTest} checks them against the C headers where a C
 * compiler is present.
 */
public final class LoopbackInterface {
  /** The loopback interface's name on Linux. */
  public static final String NAME = "lo";

  /** {@code IFNAMSIZ}: interface names are at most 15 bytes plus a NUL. */
  static final int IFNAMSIZ = 16;

  static final long SIOCGIFFLAGS = 0x8913;
  static final long SIOCSIFFLAGS = 0x8914;
  static final long SIOCGIFADDR = 0x8915;
  static final long SIOCSIFADDR = 0x8916;
  static final long SIOCSIFNETMASK = 0x891c;
  static final int IFF_UP = 0x1;
  static final int IFF_LOOPBACK = 0x8;
  static final int IFF_RUNNING = 0x40;
  static final int AF_INET = 2;
  static final int SOCK_DGRAM = 2;
  static final int SOCK_CLOEXEC = 0x80000;
  static final int EADDRNOTAVAIL = 99;

  /** {@code struct sockaddr_in}: family (host order), port and address (network order). */
  static final StructLayout SOCKADDR_IN =
      MemoryLayout.structLayout(
          JAVA_SHORT.withName("sin_family"),
          JAVA_SHORT.withName("sin_port"),
          MemoryLayout.sequenceLayout(4, JAVA_BYTE).withName("sin_addr"),
          MemoryLayout.sequenceLayout(8, JAVA_BYTE).withName("sin_zero"));

  /** {@code struct ifmap}: the union's largest member on LP64 (24 bytes, 8-aligned). */
  static final StructLayout IFMAP =
      MemoryLayout.structLayout(
          JAVA_LONG.withName("mem_start"),
          JAVA_LONG.withName("mem_end"),
          JAVA_SHORT.withName("base_addr"),
          JAVA_BYTE.withName("irq"),
          JAVA_BYTE.withName("dma"),
          JAVA_BYTE.withName("port"),
          MemoryLayout.paddingLayout(3));

  /** The {@code ifr_ifru} union of {@code struct ifreq} (the members this class or its size needs). */
  static final UnionLayout IFRU =
      MemoryLayout.unionLayout(
          SOCKADDR_IN.withName("ifru_addr"),
          JAVA_SHORT.withName("ifru_flags"),
          JAVA_INT.withName("ifru_ivalue"),
          IFMAP.withName("ifru_map"),
          MemoryLayout.sequenceLayout(IFNAMSIZ, JAVA_BYTE).withName("ifru_newname"),
          ADDRESS.withName("ifru_data"));

  /** {@code struct ifreq} ({@code <net/if.h>}): 40 bytes on LP64. */
  static final StructLayout IFREQ =
      MemoryLayout.structLayout(
          MemoryLayout.sequenceLayout(IFNAMSIZ, JAVA_BYTE).withName("ifr_name"),
          IFRU.withName("ifr_ifru"));

  static final long FLAGS_OFFSET =
      IFREQ.byteOffset(groupElement("ifr_ifru"), groupElement("ifru_flags"));
  static final long FAMILY_OFFSET =
      IFREQ.byteOffset(
          groupElement("ifr_ifru"), groupElement("ifru_addr"), groupElement("sin_family"));
  static final long ADDR_OFFSET =
      IFREQ.byteOffset(
          groupElement("ifr_ifru"), groupElement("ifru_addr"), groupElement("sin_addr"));

  private static final Pattern INTERFACE_NAME = Pattern.compile("[A-Za-z0-9._-]{1,15}");
  private static final byte[] LOOPBACK_ADDRESS = {127, 0, 0, 1};
  private static final byte[] LOOPBACK_NETMASK = {(byte) 255, 0, 0, 0};
  private static final Duration PROBE_TIMEOUT = Duration.ofSeconds(2);

  /**
   * What {@link #bringUp()} found and did.
   *
   * @param name the interface
   * @param linkBroughtUp true if this call set {@code IFF_UP} (false: it was already up)
   * @param addressAssigned true if this call assigned {@code 127.0.0.1/8} (false: the interface
   *     already had an IPv4 address, usually the one the kernel gives {@code lo} when it comes up)
   * @param address the interface's IPv4 address afterwards
   */
  public record Outcome(
      String name, boolean linkBroughtUp, boolean addressAssigned, Inet4Address address) {
    /** One log line: e.g. {@code lo: brought up; 127.0.0.1 (assigned by the kernel); TCP on 127.0.0.1 works}. */
    public String describe() {
      return name
          + ": "
          + (linkBroughtUp ? "brought up" : "already up")
          + "; "
          + address.getHostAddress()
          + (addressAssigned
              ? "/8 (assigned by this process)"
              : linkBroughtUp ? " (assigned by the kernel)" : " (already present)")
          + "; TCP on 127.0.0.1 works";
    }
  }

  private LoopbackInterface() {}

  /**
   * Brings {@code lo} up with {@code 127.0.0.1/8} unless it already is, then checks that TCP on
   * {@code 127.0.0.1} works.
   *
   * @throws LoopbackException if a system call fails (with its errno), {@code lo} is not a loopback
   *     interface, or the TCP round trip fails
   */
  public static Outcome bringUp() throws LoopbackException {
    Outcome outcome = configure(NAME);
    checkTcp(PROBE_TIMEOUT);
    return outcome;
  }

  /** Steps 1 and 2 of the class comment on interface {@code name} (no TCP check). */
  static Outcome configure(String name) throws LoopbackException {
    if (name == null || !INTERFACE_NAME.matcher(name).matches()) {
      throw new LoopbackException(
          "checking the interface name",
          LoopbackException.NO_ERRNO,
          "not an interface name: \""
              + (name == null ? "null" : name.substring(0, Math.min(name.length(), 32)))
              + "\"");
    }
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment state = arena.allocate(Libc.CAPTURE_LAYOUT);
      int fd = (int) Libc.SOCKET.invokeExact(state, AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      if (fd < 0) {
        throw new LoopbackException("socket(AF_INET, SOCK_DGRAM)", Libc.errno(state), null);
      }
      try {
        MemorySegment ifr = arena.allocate(IFREQ);
        byte[] cname = name.getBytes(StandardCharsets.US_ASCII);

        request(ifr, cname);
        ioctl(state, fd, SIOCGIFFLAGS, "SIOCGIFFLAGS", name, ifr);
        int flags = ifr.get(JAVA_SHORT, FLAGS_OFFSET) & 0xffff;
        if ((flags & IFF_LOOPBACK) == 0) {
          throw new LoopbackException(
              "ioctl(SIOCGIFFLAGS, \"" + name + "\")",
              LoopbackException.NO_ERRNO,
              "the interface is not a loopback interface (flags 0x"
                  + Integer.toHexString(flags)
                  + ")");
        }
        boolean broughtUp = false;
        if ((flags & IFF_UP) == 0) {
          request(ifr, cname);
          ifr.set(JAVA_SHORT, FLAGS_OFFSET, (short) (flags | IFF_UP | IFF_RUNNING));
          ioctl(state, fd, SIOCSIFFLAGS, "SIOCSIFFLAGS", name, ifr);
          broughtUp = true;
        }

        request(ifr, cname);
        int rc = (int) Libc.IOCTL.invokeExact(state, fd, SIOCGIFADDR, ifr);
        boolean assigned = false;
        if (rc < 0) {
          int errno = Libc.errno(state);
          if (errno != EADDRNOTAVAIL) {
            throw new LoopbackException(op("SIOCGIFADDR", name), errno, null);
          }
          setAddress(state, fd, ifr, cname, SIOCSIFADDR, "SIOCSIFADDR", name, LOOPBACK_ADDRESS);
          setAddress(
              state, fd, ifr, cname, SIOCSIFNETMASK, "SIOCSIFNETMASK", name, LOOPBACK_NETMASK);
          request(ifr, cname);
          ioctl(state, fd, SIOCGIFADDR, "SIOCGIFADDR", name, ifr);
          assigned = true;
        }
        byte[] address = ifr.asSlice(ADDR_OFFSET, 4).toArray(JAVA_BYTE);
        return new Outcome(
            name, broughtUp, assigned, (Inet4Address) InetAddress.getByAddress(address));
      } finally {
        int ignored = (int) Libc.CLOSE.invokeExact(fd);
      }
    } catch (LoopbackException e) {
      throw e;
    } catch (UnknownHostException e) {
      throw new AssertionError("a 4-byte address is always valid", e);
    } catch (Throwable t) {
      throw new LoopbackException("calling libc", LoopbackException.NO_ERRNO, t.toString(), t);
    }
  }

  /**
   * Binds an ephemeral TCP port on {@code 127.0.0.1}, connects to it and exchanges one byte each
   * way within {@code timeout}.
   */
  static void checkTcp(Duration timeout) throws LoopbackException {
    int ms = (int) Math.min(Integer.MAX_VALUE, timeout.toMillis());
    try (ServerSocket server = new ServerSocket()) {
      server.bind(new InetSocketAddress(InetAddress.getByAddress(LOOPBACK_ADDRESS), 0), 1);
      server.setSoTimeout(ms);
      try (Socket client = new Socket()) {
        client.connect(server.getLocalSocketAddress(), ms);
        client.setSoTimeout(ms);
        try (Socket accepted = server.accept()) {
          accepted.setSoTimeout(ms);
          client.getOutputStream().write(0x4b);
          if (readOne(accepted.getInputStream()) != 0x4b) {
            throw new IOException("the byte sent did not arrive");
          }
          accepted.getOutputStream().write(0x43);
          if (readOne(client.getInputStream()) != 0x43) {
            throw new IOException("the byte answered did not arrive");
          }
        }
      }
    } catch (IOException e) {
      throw new LoopbackException(
          "a TCP round trip on 127.0.0.1", LoopbackException.NO_ERRNO, e.toString(), e);
    }
  }

  private static int readOne(InputStream in) throws IOException {
    return in.read();
  }

  /** Clears {@code ifr} and writes the NUL-terminated interface name. */
  private static void request(MemorySegment ifr, byte[] cname) {
    ifr.fill((byte) 0);
    MemorySegment.copy(cname, 0, ifr, JAVA_BYTE, 0, cname.length);
  }

  private static void setAddress(
      MemorySegment state,
      int fd,
      MemorySegment ifr,
      byte[] cname,
      long request,
      String requestName,
      String name,
      byte[] address)
      throws Throwable {
    request(ifr, cname);
    ifr.set(JAVA_SHORT, FAMILY_OFFSET, (short) AF_INET);
    MemorySegment.copy(address, 0, ifr, JAVA_BYTE, ADDR_OFFSET, 4);
    ioctl(state, fd, request, requestName, name, ifr);
  }

  private static void ioctl(
      MemorySegment state, int fd, long request, String requestName, String name, MemorySegment ifr)
      throws Throwable {
    int rc = (int) Libc.IOCTL.invokeExact(state, fd, request, ifr);
    if (rc < 0) {
      throw new LoopbackException(op(requestName, name), Libc.errno(state), null);
    }
  }

  private static String op(String requestName, String name) {
    return "ioctl(" + requestName + ", \"" + name + "\")";
  }
}
