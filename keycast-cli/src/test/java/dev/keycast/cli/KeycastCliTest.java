package dev.keycast.cli;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The top-level command: help, and one-line errors for missing or unknown commands. */
class KeycastCliTest {
  @Test
  void helpListsEveryCommandAndTheExitCodes() {
    Cli.Run r = Cli.run("--help").ok();
    for (String c :
        new String[] {
          "attest", "send", "recipient", "fetch", "receipt", "measurements", "attestation"
        }) {
      assertThat(r.out()).containsPattern("(?m)^  " + c + " ");
    }
    assertThat(r.out())
        .contains("4   the host answered with an error")
        .contains("5   the host could not be reached");
  }

  @Test
  void missingAndUnknownCommandsAreOneLine() {
    Cli.run().failsWith(ExitCodes.USAGE, "keycast: missing command (attest, send,");
    Cli.run("frobnicate")
        .failsWith(ExitCodes.USAGE, "keycast: Unmatched argument at index 0: 'frobnicate'");
    Cli.run("attestation").failsWith(ExitCodes.USAGE, "keycast attestation: missing subcommand");
    Cli.run("receipt").failsWith(ExitCodes.USAGE, "keycast receipt: missing subcommand");
    Cli.run("measurements").failsWith(ExitCodes.USAGE, "keycast measurements: missing subcommand");
    Cli.run("send", "--host")
        .failsWith(ExitCodes.USAGE, "keycast send: Missing required parameter for option '--host'");
  }
}
