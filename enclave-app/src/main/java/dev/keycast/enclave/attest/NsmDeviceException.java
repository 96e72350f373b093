package dev.keycast.enclave.attest;

import java.io.IOException;

/**
 * A call to the NSM device failed below the NSM protocol: the device could not be opened, the
 * {@code ioctl} returned an error ({@link #errno()} says which), or the answer did not fit.
 */
public final class NsmDeviceException extends IOException {
  /** errno value meaning "no errno" (the failure did not come from a system call). */
  public static final int NO_ERRNO = 0;

  private final int errno;

  public NsmDeviceException(String message, int errno) {
    super(
        errno == NO_ERRNO ? message : message + " (errno " + errno + " " + errnoName(errno) + ")");
    this.errno = errno;
  }

  /** The Linux errno of the failed system call, or {@link #NO_ERRNO}. */
  public int errno() {
    return errno;
  }

  /** The symbolic name of the errno values the NSM driver and {@code open(2)} produce. */
  public static String errnoName(int errno) {
    return switch (errno) {
      case 1 -> "EPERM";
      case 2 -> "ENOENT";
      case 4 -> "EINTR";
      case 5 -> "EIO";
      case 9 -> "EBADF";
      case 12 -> "ENOMEM";
      case 13 -> "EACCES";
      case 14 -> "EFAULT";
      case 16 -> "EBUSY";
      case 19 -> "ENODEV";
      case 22 -> "EINVAL";
      case 25 -> "ENOTTY";
      case 90 -> "EMSGSIZE";
      case 110 -> "ETIMEDOUT";
      default -> "errno" + errno;
    };
  }
}
