package dev.keycast.enclave.attest;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import dev.keycast.enclave.os.Libc;
import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.nio.file.Path;

/**
 * The real NSM: {@code /dev/nsm} driven through {@code ioctl(fd, NSM_IOCTL_RAW, &nsm_raw)} with
 * the JDK's Foreign Function and Memory API (no native library of our own).
 *
 * <p>ABI (Linux {@code include/uapi/linux/nsm.h}): the request number is {@code 0xC0200A00}
 * ({@code _IOWR(0x0A, 0, 32)}); the argument is {@code struct nsm_raw} = four {@code u64}:
 * request address, request length, response address, response length. The kernel copies at
 * most {@code response.len} bytes of the answer and writes the answer's length back into
 * {@code response.len}. Requests longer than {@value NsmDevice#MAX_REQUEST_BYTES} bytes are
 * rejected with {@code EMSGSIZE}. The JVM needs {@code --enable-native-access=ALL-UNNAMED} (or the
 * module's name) to call this without a warning.
 */
public final class IoctlNsmDevice implements NsmDevice, AutoCloseable {
  /** {@code _IOWR(NSM_MAGIC=0x0A, 0, sizeof(struct nsm_raw)=32)}. */
  static final long NSM_IOCTL_RAW = 0xC0200A00L;

  /** The device node inside a Nitro Enclave. */
  public static final Path DEFAULT_PATH = Path.of("/dev/nsm");

  private static final int O_RDWR = 2;
  private static final int O_CLOEXEC = 0x80000;
  private static final int EINTR = 4;
  private static final int MAX_EINTR_RETRIES = 16;

  private final Path path;
  private final Object lock = new Object();
  private int fd;

  private IoctlNsmDevice(Path path, int fd) {
    this.path = path;
    this.fd = fd;
  }

  /** Opens {@link #DEFAULT_PATH}. */
  public static IoctlNsmDevice open() throws NsmDeviceException {
    return open(DEFAULT_PATH);
  }

  /** Opens the NSM device node at {@code path} read-write. */
  public static IoctlNsmDevice open(Path path) throws NsmDeviceException {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment state = arena.allocate(Libc.CAPTURE_LAYOUT);
      MemorySegment cpath = arena.allocateFrom(path.toString());
      int fd = (int) Libc.OPEN.invokeExact(state, cpath, O_RDWR | O_CLOEXEC);
      if (fd < 0) {
        throw new NsmDeviceException("cannot open " + path, Libc.errno(state));
      }
      return new IoctlNsmDevice(path, fd);
    } catch (NsmDeviceException e) {
      throw e;
    } catch (Throwable t) {
      throw new NsmDeviceException(
          "cannot call open(2) for " + path + ": " + t, NsmDeviceException.NO_ERRNO);
    }
  }

  @Override
  public byte[] call(byte[] cborRequest) throws NsmDeviceException {
    if (cborRequest.length == 0 || cborRequest.length > MAX_REQUEST_BYTES) {
      throw new NsmDeviceException(
          "request of " + cborRequest.length + " bytes is outside 1.." + MAX_REQUEST_BYTES,
          NsmDeviceException.NO_ERRNO);
    }
    synchronized (lock) {
      if (fd < 0) {
        throw new NsmDeviceException(path + " is closed", NsmDeviceException.NO_ERRNO);
      }
      try (Arena arena = Arena.ofConfined()) {
        MemorySegment request = arena.allocateFrom(JAVA_BYTE, cborRequest);
        MemorySegment response = arena.allocate(MAX_RESPONSE_BYTES);
        MemorySegment raw = arena.allocate(NSM_RAW);
        MemorySegment state = arena.allocate(Libc.CAPTURE_LAYOUT);
        int rc = -1;
        for (int attempt = 0; attempt <= MAX_EINTR_RETRIES; attempt++) {
          raw.set(JAVA_LONG, 0, request.address());
          raw.set(JAVA_LONG, 8, cborRequest.length);
          raw.set(JAVA_LONG, 16, response.address());
          raw.set(JAVA_LONG, 24, MAX_RESPONSE_BYTES);
          rc = (int) Libc.IOCTL.invokeExact(state, fd, NSM_IOCTL_RAW, raw);
          if (rc >= 0 || Libc.errno(state) != EINTR) {
            break;
          }
        }
        if (rc < 0) {
          throw new NsmDeviceException(
              "ioctl(NSM_IOCTL_RAW) on " + path + " failed", Libc.errno(state));
        }
        long len = raw.get(JAVA_LONG, 24);
        if (len <= 0 || len > MAX_RESPONSE_BYTES) {
          throw new NsmDeviceException(
              "NSM answered " + len + " bytes; the buffer holds " + MAX_RESPONSE_BYTES,
              NsmDeviceException.NO_ERRNO);
        }
        return response.asSlice(0, len).toArray(JAVA_BYTE);
      } catch (NsmDeviceException e) {
        throw e;
      } catch (Throwable t) {
        throw new NsmDeviceException(
            "cannot call ioctl(2) on " + path + ": " + t, NsmDeviceException.NO_ERRNO);
      }
    }
  }

  /** Closes the file descriptor; later calls fail. Idempotent. */
  @Override
  public void close() {
    synchronized (lock) {
      if (fd >= 0) {
        try {
          int ignored = (int) Libc.CLOSE.invokeExact(fd);
        } catch (Throwable t) {
          // close(2) of a device node cannot usefully fail; the descriptor is gone either way
        }
        fd = -1;
      }
    }
  }

  @Override
  public String toString() {
    return "IoctlNsmDevice[" + path + "]";
  }

  /** {@code struct nsm_raw}: request and response buffers of NSM_IOCTL_RAW. */
  private static final StructLayout NSM_RAW =
      MemoryLayout.structLayout(
          JAVA_LONG.withName("request_addr"),
          JAVA_LONG.withName("request_len"),
          JAVA_LONG.withName("response_addr"),
          JAVA_LONG.withName("response_len"));
}
