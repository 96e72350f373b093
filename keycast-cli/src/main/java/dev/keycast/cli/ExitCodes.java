package dev.keycast.cli;

/** Process exit codes shared by every {@code keycast} command. */
public final class ExitCodes {
  /** The command did what was asked (for verify commands: the input verified). */
  public static final int OK = 0;

  /** A verification failed (attestation, receipt, signature, policy). */
  public static final int VERIFICATION_FAILED = 1;

  /** Bad command line or a malformed option argument (picocli's usage-error code). */
  public static final int USAGE = 2;

  /** A file could not be read or written. */
  public static final int IO = 3;

  /** The host proxy answered with an error (its {@code error} code and message are printed). */
  public static final int HOST_ERROR = 4;

  /** The host proxy could not be reached, or its answer was not a Keycast answer. */
  public static final int UNREACHABLE = 5;

  /** An unexpected internal error (a bug). */
  public static final int INTERNAL = 70;

  /** The exit-code section shared by the help of every command. */
  static final String HELP =
      "%nExit codes:%n"
          + "  0   ok (verified)%n"
          + "  1   verification failed (one line on stderr names the failed check)%n"
          + "  2   usage error (bad option or malformed option argument)%n"
          + "  3   I/O error (file not readable or not writable)%n"
          + "  4   the host answered with an error (its error code and message are printed)%n"
          + "  5   the host could not be reached or did not answer like a Keycast host%n"
          + "  70  internal error%n";

  private ExitCodes() {}
}
