package dev.keycast.enclave.net;

import java.io.IOException;

/**
 * The loopback interface could not be brought up: a system call failed ({@link #errno()} says
 * which error, {@link #operation()} which call) or the interface did not carry TCP afterwards.
 */
public final class LoopbackException extends IOException {
  /** errno value meaning "no errno" (the failure did not come from a system call). */
  public static final int NO_ERRNO = 0;

  private final String operation;
  private final int errno;

  /**
   * @param operation the call that failed, e.g. {@code ioctl(SIOCSIFFLAGS, "lo")}
   * @param errno the Linux errno of that call, or {@link #NO_ERRNO}
   * @param detail what it means, or null
   */
  public LoopbackException(String operation, int errno, String detail) {
    this(operation, errno, detail, null);
  }

  LoopbackException(String operation, int errno, String detail, Throwable cause) {
    super(message(operation, errno, detail), cause);
    this.operation = operation;
    this.errno = errno;
  }

  /** The Linux errno of the failed system call, or {@link #NO_ERRNO}. */
  public int errno() {
    return errno;
  }

  /** The operation that failed, e.g. {@code ioctl(SIOCSIFFLAGS, "lo")}. */
  public String operation() {
    return operation;
  }

  private static String message(String operation, int errno, String detail) {
    StringBuilder sb =
        new StringBuilder("cannot bring up the loopback interface: ")
            .append(operation)
            .append(" failed");
    if (errno != NO_ERRNO) {
      sb.append(" (errno ").append(errno).append(' ').append(errnoName(errno)).append(')');
    }
    if (detail != null) {
      sb.append(": ").append(detail);
    }
    return sb.toString();
  }

  /** The symbolic name of the errno values socket(2) and the interface ioctls produce. */
  public static String errnoName(int errno) {
    return switch (errno) {
      case 1 -> "EPERM";
      case 6 -> "ENXIO";
      case 9 -> "EBADF";
      case 12 -> "ENOMEM";
      case 13 -> "EACCES";
      case 14 -> "EFAULT";
      case 19 -> "ENODEV";
      case 22 -> "EINVAL";
      case 23 -> "ENFILE";
      case 24 -> "EMFILE";
      case 25 -> "ENOTTY";
      case 97 -> "EAFNOSUPPORT";
      case 99 -> "EADDRNOTAVAIL";
      case 101 -> "ENETUNREACH";
      default -> "errno" + errno;
    };
  }
}
