package dev.keycast.cli;

/**
 * A command failed in a way the user can act on: {@link #exitCode()} is one of {@link ExitCodes}
 * and the message is one line saying what to fix. Never carries a secret.
 */
final class CliException extends Exception {
  private final int exitCode;

  CliException(int exitCode, String message) {
    super(message, null, false, false);
    this.exitCode = exitCode;
  }

  static CliException usage(String message) {
    return new CliException(ExitCodes.USAGE, message);
  }

  static CliException io(String message) {
    return new CliException(ExitCodes.IO, message);
  }

  static CliException verification(String message) {
    return new CliException(ExitCodes.VERIFICATION_FAILED, message);
  }

  int exitCode() {
    return exitCode;
  }
}
