package dev.keycast.enclave.os;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * The few libc calls the enclave makes itself (no native code of ours): {@code open}, {@code
 * socket}, {@code ioctl} and {@code close} through the FFM API, linked once. Calls that can fail
 * take a capture-state segment first ({@code arena.allocate(CAPTURE_LAYOUT)}), from which {@link
 * #errno(MemorySegment)} reads the errno of that call. Used by the NSM device ({@code /dev/nsm})
 * and the loopback bring-up.
 */
public final class Libc {
  /** Layout of the capture-state segment that the errno-capturing handles write. */
  public static final StructLayout CAPTURE_LAYOUT = Linker.Option.captureStateLayout();

  private static final VarHandle ERRNO =
      CAPTURE_LAYOUT.varHandle(MemoryLayout.PathElement.groupElement("errno"));

  /** {@code int open(const char *path, int flags)} (no variadic mode), errno captured. */
  public static final MethodHandle OPEN;

  /** {@code int socket(int domain, int type, int protocol)}, errno captured. */
  public static final MethodHandle SOCKET;

  /** {@code int ioctl(int fd, unsigned long request, void *arg)}, errno captured. */
  public static final MethodHandle IOCTL;

  /** {@code int close(int fd)}. */
  public static final MethodHandle CLOSE;

  static {
    Linker linker = Linker.nativeLinker();
    SymbolLookup libc = linker.defaultLookup();
    Linker.Option errno = Linker.Option.captureCallState("errno");
    // open(const char *path, int flags, ...): no variadic argument passed
    OPEN =
        linker.downcallHandle(
            libc.find("open").orElseThrow(),
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT),
            Linker.Option.firstVariadicArg(2),
            errno);
    SOCKET =
        linker.downcallHandle(
            libc.find("socket").orElseThrow(),
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT),
            errno);
    // ioctl(int fd, unsigned long request, ...): the pointer is the variadic argument
    IOCTL =
        linker.downcallHandle(
            libc.find("ioctl").orElseThrow(),
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS),
            Linker.Option.firstVariadicArg(2),
            errno);
    CLOSE =
        linker.downcallHandle(
            libc.find("close").orElseThrow(), FunctionDescriptor.of(JAVA_INT, JAVA_INT));
  }

  /** The errno that the call which wrote {@code state} captured. */
  public static int errno(MemorySegment state) {
    return (int) ERRNO.get(state, 0L);
  }

  private Libc() {}
}
